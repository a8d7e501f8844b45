"""Quality gates: judge an artifact by its data and by everything upstream of it, in CI and before a release.

A policy file (``policy.py``) names gates per artifact name, glob or kind; each gate is a module of pure
checks
(``schema_contract``, ``pins``, ``freshness``, ``pii``, ``licences`` + ``propagation``, ``auditability``,
``release``, ``reproducibility``); ``runner.py`` applies them through the Client and records every verdict as
a
``GateEvaluated`` event (``events.py``, with owners, licences and sources); ``report.py`` writes JSON, JUnit
and
SARIF. ``Client.check`` (and ``mlineage.check``) is the entry point.
"""

from __future__ import annotations

from .model import Check, CheckReport, GateResult, Verdict
from .policy import GATES, POLICY_FILE, GateSpec, Policy, Selector, load_policy, parse_policy

__all__ = [
    "GATES",
    "POLICY_FILE",
    "Check",
    "CheckReport",
    "GateResult",
    "GateSpec",
    "Policy",
    "Selector",
    "Verdict",
    "load_policy",
    "parse_policy",
]
