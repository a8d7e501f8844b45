"""The CLI through its real entry point, in a real project folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mlineage

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLINEAGE_")}
    result = subprocess.run([sys.executable, "-m", "mlineage.cli.main", *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"mlineage {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


@pytest.fixture
def pipeline(project: Path) -> dict[str, str]:
    """Two runs: prep makes clean.csv from raw.csv, train makes model.bin from clean.csv."""
    (project / "raw.csv").write_text("a\n1\n2\n")
    with mlineage.run("prep", kind="transform") as prep:
        prep.use("raw.csv", role="raw")
        (project / "clean.csv").write_text("a\n1\n")
        prep.produce("clean.csv", kind="dataset", name="clean")
    with mlineage.run("train", kind="train", params={"C": 1.0}) as train:
        train.use("clean")
        train.log_metric("acc", 0.5)
        (project / "model.bin").write_bytes(b"weights")
        model = train.produce("model.bin", name="model")
    return {"prep": prep.id, "train": train.id, "model": str(model.digest)}


def test_init_creates_project_and_is_idempotent(tmp_path: Path) -> None:
    out = json.loads(cli("init", "--json", cwd=tmp_path).stdout)
    assert Path(out["project"]) == tmp_path.resolve() / ".mlineage"
    assert (tmp_path / ".mlineage" / "config.toml").is_file()
    cli("init", cwd=tmp_path)
    assert "mlineage.db" in (tmp_path / ".mlineage" / ".gitignore").read_text()


def test_commands_outside_a_project_say_what_to_do(tmp_path: Path) -> None:
    result = cli("runs", cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert "mlineage init" in result.stderr


def test_runs_show_trace_impact(project: Path, pipeline: dict[str, str]) -> None:
    runs = json.loads(cli("runs", "--json", cwd=project).stdout)
    assert [r["job"] for r in runs] == ["train", "prep"]
    assert "train" in cli("runs", cwd=project).stdout

    shown = json.loads(cli("show", "model@1", "--json", cwd=project).stdout)
    assert shown["digest"] == pipeline["model"] and shown["blob_present"] is True
    assert shown["produced_by"][0]["id"] == pipeline["train"]
    assert [p["name"] for p in shown["lineage_record"]["parent_artifacts"]] == ["clean"]

    run = json.loads(cli("show", pipeline["train"][:10], "--json", cwd=project).stdout)
    assert run["params"] == {"C": 1.0} and run["metrics"] == {"acc": 0.5}
    assert [i["name"] for i in run["inputs"]] == ["clean"]

    trace = json.loads(cli("trace", "model", "--json", cwd=project).stdout)
    assert trace["count"] == 4  # train run, clean, prep run, raw
    text = cli("trace", "model", cwd=project).stdout
    assert "run prep" in text and "clean@1" in text

    impact = json.loads(cli("impact", "raw.csv", "--json", cwd=project).stdout)
    assert {n.get("name") for n in impact["nodes"] if n["type"] == "artifact"} >= {"clean", "model"}


def test_unknown_and_ambiguous_refs_are_clear_errors(project: Path, pipeline: dict[str, str]) -> None:
    result = cli("show", "does-not-exist", cwd=project, check=False)
    assert result.returncode == 1 and "nothing matches" in result.stderr
    result = cli("trace", "model@9", cwd=project, check=False)
    assert result.returncode == 1 and "model has no version 9: its versions are @1" in result.stderr


def test_verify_export_and_rebuild(project: Path, pipeline: dict[str, str]) -> None:
    ok = json.loads(cli("verify", "--json", cwd=project).stdout)
    assert ok["ok"] is True and ok["count"] > 5
    export = project / "ledger.jsonl"
    cli("export", "-o", str(export), cwd=project)
    lines = export.read_text().splitlines()
    assert len(lines) == ok["count"] + 1  # the events, then the checkpoint of their head
    assert json.loads(lines[-1])["checkpoint"]["seq"] == ok["count"]
    assert cli("verify", "--file", str(export), cwd=project).stdout.startswith("OK")
    # Alter one exported payload: offline verification must name that event.
    rows = [json.loads(line) for line in lines]
    rows[2]["payload"]["kind"] = "tampered"
    export.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    bad = cli("verify", "--file", str(export), "--json", cwd=project, check=False)
    assert bad.returncode == 1 and json.loads(bad.stdout)["first_bad_seq"] == rows[2]["seq"]
    rebuilt = json.loads(cli("rebuild", "--json", cwd=project).stdout)
    assert rebuilt["replayed"] == ok["count"]
    assert json.loads(cli("trace", "model", "--json", cwd=project).stdout)["count"] == 4


def test_every_command_has_help_and_is_documented() -> None:
    from mlineage.cli.main import load_all_commands

    docs = "\n".join(p.read_text() for p in (ROOT / "docs").glob("*.md")) + (ROOT / "README.md").read_text()
    commands = load_all_commands()
    assert len(commands) > 40
    for name, command in commands.items():
        assert command.help, f"`mlineage {name}` has no help text"
        result = subprocess.run([sys.executable, "-m", "mlineage.cli.main", name, "--help"],
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0 and "Usage:" in result.stdout
        assert f"mlineage {name}" in docs, f"`mlineage {name}` is not documented in README.md or docs/"


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys; from mlineage.cli.main import cli; "
        "heavy = [m for m in ('sqlalchemy', 'rich', 'numpy', 'alembic') if m in sys.modules]; print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout.strip() == "[]"
