"""A policy or gate whose optional package is not installed says which extra brings it (no traceback)."""

from __future__ import annotations

import sys

import pytest

from mlineage.errors import ConfigError
from mlineage.gates import parse_policy


def test_a_policy_without_jsonschema_names_the_gates_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jsonschema", None)  # importing it now raises ImportError
    with pytest.raises(ConfigError, match=r"policy file needs jsonschema: pip install 'mlineage\[gates\]'"):
        parse_policy("gates:\n  - gate: reproducibility\n", "mlineage.policy.yaml")


def test_a_licence_expression_without_its_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlineage.gates.licences import conditions_of

    monkeypatch.setitem(sys.modules, "license_expression", None)
    with pytest.raises(ConfigError, match=r"needs license_expression: pip install 'mlineage\[gates\]'"):
        conditions_of("MIT AND Apache-2.0 WITH LLVM-exception")
