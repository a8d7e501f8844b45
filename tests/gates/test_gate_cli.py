"""``mlineage check`` through the real entry point: exit codes, formats (JUnit parsed back, SARIF validated
against the SARIF 2.1.0 schema), ``licence``, ``owner``, ``show`` listing the gates a model passed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from .helpers import CARD, PHONE

DATA = Path(__file__).parent / "data"
POLICY = """version: 1
intended_use: commercial
gates:
  - gate: schema
    name: contract
    for: {name: "customers*"}
    notify: owner
    columns:
      id: {type: int64, nullable: false}
  - gate: privacy
    for: {kind: dataset}
  - gate: pins
    for: {name: customers.csv}
    min_rows: 1
"""


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlineage.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def proj(project: Path) -> Path:
    (project / "customers.csv").write_text(f"id,note\n1,hello\n2,card {CARD}\n3,call {PHONE}\n")
    assert cli("add", "customers.csv", cwd=project).returncode == 0
    (project / "mlineage.policy.yaml").write_text(POLICY)
    return project


def test_exit_codes_and_warn_only(proj: Path) -> None:
    failed = cli("check", cwd=proj)
    assert failed.returncode == 1, failed.stderr
    assert "privacy" in failed.stdout and "fail" in failed.stdout and CARD not in failed.stdout
    assert cli("check", "--warn-only", cwd=proj).returncode == 0
    assert cli("owner", "set", "customers.csv", "data-team", cwd=proj).returncode == 0
    owned = cli("check", "customers.csv", cwd=proj)
    assert "notify data-team" in owned.stdout
    (proj / "mlineage.policy.yaml").write_text(POLICY.replace("- gate: privacy", "- gate: privacyy"))
    bad = cli("check", cwd=proj)
    assert bad.returncode == 2 and "unknown gate 'privacyy'" in bad.stderr and ":10:" in bad.stderr
    assert cli("check", "--format", "xml", cwd=proj).returncode == 2


@pytest.mark.parametrize("content, problem", [
    (bytes(range(0x80, 0x100)), "mlineage.policy.yaml: is not UTF-8 text (byte 0)"),
    (b"version: 1\ngates:\n  - gate: pins\x01\n",
     "mlineage.policy.yaml:3: not valid YAML: unacceptable character #x0001"),
])
def test_a_policy_that_is_not_text_is_one_line_naming_it(proj: Path, content: bytes, problem: str) -> None:
    (proj / "mlineage.policy.yaml").write_bytes(content)
    for args in (["check"], ["check", "--policy", "mlineage.policy.yaml"]):
        bad = cli(*args, cwd=proj)
        assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr
        assert bad.stderr.startswith(f"error: {problem}") and bad.stderr.count("\n") == 1, bad.stderr


def test_an_empty_policy_fails(proj: Path) -> None:
    (proj / "mlineage.policy.yaml").write_text("version: 1\ngates: []\n")
    result = cli("check", "customers.csv", "--json", cwd=proj)
    assert result.returncode == 1
    out = json.loads(result.stdout)
    assert out["passed"] is False and "zero checks" in out["problems"][0]
    assert cli("check", "--json", cwd=proj).returncode == 1
    (proj / "mlineage.policy.yaml").write_text(
        "version: 1\ngates:\n  - gate: pins\n    for: {kind: dataset}\n"
    )
    zero = json.loads(cli("check", "--json", cwd=proj).stdout)
    assert (
        zero["results"][0]["verdict"] == "fail"
        and "zero checks" in zero["results"][0]["checks"][0]["message"]
    )
    (proj / "mlineage.policy.yaml").write_text(
        "gates:\n  - gate: pins\n    for: {name: 'nothing*'}\n    rows: 1\n"
    )
    assert "matched no artifact" in cli("check", "--json", cwd=proj).stdout


def test_junit_is_parsed_back(proj: Path) -> None:
    out = proj / "report.xml"
    result = cli("check", "--format", "junit", "--output", str(out), cwd=proj)
    assert result.returncode == 1
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites" and root.get("tests") == "3" and root.get("failures") == "1"
    cases = {(s.get("name"), c.get("name")): c for s in root for c in s.findall("testcase")}
    assert set(cases) == {
        ("contract", "customers.csv@1"),
        ("privacy", "customers.csv@1"),
        ("pins", "customers.csv@1"),
    }
    failure = cases[("privacy", "customers.csv@1")].find("failure")
    assert failure is not None and "card" in (failure.text or "") and CARD not in out.read_text()


def test_sarif_validates_against_its_schema(proj: Path) -> None:
    from jsonschema import Draft4Validator

    result = cli("check", "--format", "sarif", cwd=proj)
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    Draft4Validator(schema).validate(doc)
    (res,) = doc["runs"][0]["results"]
    assert res["ruleId"] == "mlineage/privacy" and res["level"] == "error"
    assert res["locations"][0]["physicalLocation"]["region"]["startLine"] == 10
    assert CARD not in result.stdout and PHONE not in result.stdout


def test_show_lists_the_gates_and_the_policy_digest(proj: Path) -> None:
    report = json.loads(cli("check", "customers.csv", "--json", cwd=proj).stdout)
    shown = json.loads(cli("show", "customers.csv@1", "--json", cwd=proj).stdout)
    assert {(g["label"], g["verdict"]) for g in shown["gates"]} == {
        ("contract", "pass"),
        ("privacy", "fail"),
        ("pins", "pass"),
    }
    assert {g["policy_digest"] for g in shown["gates"]} == {report["policy_digest"]}
    text = cli("show", "customers.csv@1", cwd=proj).stdout
    assert "contract pass (policy sha256:" in text


def test_licence_command_explains_the_path(proj: Path) -> None:
    assert cli("licence", "customers.csv", "--set", "CC-BY-NC-4.0", cwd=proj).returncode == 0
    out = cli("licence", "customers.csv", cwd=proj).stdout
    assert "non-commercial use" in out and "[CC-BY-NC-4.0] brings non-commercial, attribution" in out
    doc = json.loads(cli("licence", "customers.csv", "--json", cwd=proj).stdout)
    assert doc["effective"]["use"] == "non-commercial" and doc["obligations"][0]["path"] == [
        "customers.csv@1"
    ]
    assert cli("owner", "show", "customers.csv", cwd=proj).stdout.strip() == "(no owner)"
