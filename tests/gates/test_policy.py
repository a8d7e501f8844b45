"""The policy file: errors name the line and the field; unknown gates are errors; the schema is package
data."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlineage.errors import ConfigError
from mlineage.gates import GATES, load_policy, parse_policy
from mlineage.gates.policy import policy_schema


def _error(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_policy(text, "mlineage.policy.yaml")
    return str(caught.value)


def test_errors_name_the_line_and_the_field() -> None:
    text = (
        "version: 1\ngates:\n  - gate: schema\n    for: {kind: dataset}\n  - gate: freshness\n"
        "    for: {kind: dataset}\n    warn_after: {count: 2, period: weeks}\n"
    )
    message = _error(text)
    assert message.startswith("mlineage.policy.yaml:7: gates[1].warn_after.period:")
    assert "weeks" in message
    assert _error("gates:\n  - gate: pins\n    for: {kind: dataset}\n    rows: many\n").startswith(
        "mlineage.policy.yaml:4: gates[0].rows:"
    )
    assert "for" in _error("gates:\n  - gate: pins\n    rows: 3\n")
    misspelt = _error("gates:\n  - gate: pins\n    for: {kind: dataset}\n    rowz: 3\n")
    assert misspelt.startswith("mlineage.policy.yaml:2:") and "rowz" in misspelt


def test_unknown_gate_names_are_errors() -> None:
    message = _error(
        "gates:\n  - gate: schema\n    for: {kind: dataset}\n  - gate: vibes\n    for: {kind: model}\n"
    )
    assert message.startswith("mlineage.policy.yaml:4: gates[1].gate: unknown gate 'vibes'")
    assert all(g in message for g in GATES)


def test_bad_yaml_names_its_line() -> None:
    assert _error("gates:\n  - gate: [schema\n").startswith("mlineage.policy.yaml:3: not valid YAML")


def test_the_digest_names_the_rules_not_the_layout(tmp_path: Path) -> None:
    a = parse_policy("gates:\n  - {gate: pins, for: {kind: dataset}, rows: 3}\n")
    b = parse_policy("# a comment\ngates:\n  - gate: pins\n    rows: 3\n    for:\n      kind: dataset\n")
    c = parse_policy("gates:\n  - {gate: pins, for: {kind: dataset}, rows: 4}\n")
    assert a.digest == b.digest != c.digest
    path = tmp_path / "p.yaml"
    path.write_text('{"gates": [{"gate": "pins", "for": {"kind": "dataset"}, "rows": 3}]}')  # JSON is YAML
    assert load_policy(path).digest == a.digest


def test_the_schema_ships_as_package_data_and_covers_every_gate() -> None:
    from jsonschema import Draft202012Validator

    schema = policy_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$defs"]["common"]["properties"]["gate"]["enum"] == list(GATES)
