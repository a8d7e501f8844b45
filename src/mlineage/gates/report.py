"""A ``CheckReport`` in the formats CI systems read: JSON, JUnit XML (GitLab, Jenkins) and SARIF 2.1.0
(GitHub code scanning). Text for people is drawn by the CLI.

Each (gate, artifact) result is one JUnit test case and one SARIF result; a policy-level problem is one more.
SARIF results point at the policy file and the line of the entry that failed, since a data artifact has no
source line to annotate.
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from .. import __version__
from .model import CheckReport, GateResult

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"pass": "none", "warn": "warning", "fail": "error", "error": "error"}


def to_json(report: CheckReport, warn_only: bool = False) -> str:
    out = report.to_dict()
    out["exit_code"] = report.exit_code(warn_only)
    return json.dumps(out, indent=2, sort_keys=True, ensure_ascii=False)


def _failure_text(result: GateResult) -> str:
    return "\n".join(f"[{c.verdict}] {c.name}: {c.message}" for c in result.checks if c.verdict != "pass")


def to_junit(report: CheckReport) -> str:
    """One ``testsuite`` per gate label, one ``testcase`` per artifact; ``failure`` for a blocking result,
    ``skipped`` never (a gate that did not run fails)."""
    suites = ET.Element("testsuites", name="mlineage check")
    by_label: dict[str, list[GateResult]] = {}
    for r in report.results:
        by_label.setdefault(r.label, []).append(r)
    if report.problems:
        by_label.setdefault("policy", [])
    total_failures = 0
    for label, results in by_label.items():
        suite = ET.SubElement(suites, "testsuite", name=label)
        failures = 0
        cases = 0
        for r in results:
            case = ET.SubElement(suite, "testcase", classname=f"mlineage.gates.{r.gate}", name=r.target)
            cases += 1
            props = ET.SubElement(case, "properties")
            for key, value in (
                ("digest", r.digest),
                ("verdict", r.verdict),
                ("action", r.action),
                ("owner", r.owner),
                ("notify", r.notify),
                ("policy_digest", report.policy_digest),
            ):
                if value is not None:
                    ET.SubElement(props, "property", name=key, value=str(value))
            if r.blocking:
                failures += 1
                tag = "failure" if r.verdict == "fail" else "error"
                node = ET.SubElement(case, tag, message=f"{r.label} {r.verdict} on {r.target}", type=r.action)
                node.text = _failure_text(r)
            elif r.verdict != "pass":  # a warning, or a failure whose action is warn: reported, not failed
                ET.SubElement(case, "system-out").text = _failure_text(r)
        if label == "policy":
            for problem in report.problems:
                case = ET.SubElement(suite, "testcase", classname="mlineage.policy", name=problem[:200])
                ET.SubElement(case, "failure", message=problem, type="block")
                failures += 1
                cases += 1
        suite.set("tests", str(cases))
        suite.set("failures", str(failures))
        total_failures += failures
    suites.set("tests", str(sum(int(s.get("tests", "0")) for s in suites)))
    suites.set("failures", str(total_failures))
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


def to_sarif(report: CheckReport) -> str:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    location = report.policy_path or "mlineage.policy.yaml"
    for r in report.results:
        rule_id = f"mlineage/{r.gate}"
        rules.setdefault(
            rule_id, {"id": rule_id, "name": r.gate, "shortDescription": {"text": f"mlineage {r.gate} gate"}}
        )
        if r.verdict == "pass":
            continue
        physical: dict[str, Any] = {"artifactLocation": {"uri": location}}
        if r.policy_line:
            physical["region"] = {"startLine": r.policy_line}
        results.append(
            {
                "ruleId": rule_id,
                "level": _LEVEL[r.verdict] if r.action == "block" else "warning",
                "message": {"text": f"{r.label} {r.verdict} on {r.target}: {_failure_text(r) or r.verdict}"},
                "locations": [{"physicalLocation": physical}],
                "partialFingerprints": {"mlineageGate/v1": f"{r.label}:{r.digest or r.target}"},
                "properties": {
                    "digest": r.digest,
                    "owner": r.owner,
                    "notify": r.notify,
                    "action": r.action,
                    "policy_digest": report.policy_digest,
                },
            }
        )
    for problem in report.problems:
        rules.setdefault(
            "mlineage/policy",
            {"id": "mlineage/policy", "name": "policy", "shortDescription": {"text": "mlineage policy"}},
        )
        results.append(
            {
                "ruleId": "mlineage/policy",
                "level": "error",
                "message": {"text": problem},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": location}}}],
            }
        )
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {"name": "mlineage", "version": __version__, "rules": list(rules.values())}
                },
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False)
