"""The typed results of a gate run: what ``Client.check`` returns and every output format is made from.

A *check* is one measured condition (a column's type, a row count, one PII kind in one column); a *gate* is
one
policy entry applied to one artifact and yields one or more checks. Values measured are numbers, column names
and kinds only: a gate never puts a cell of the data it read into a result (results are printed, written to
CI reports and recorded in the ledger).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Verdict = Literal["pass", "warn", "fail", "error"]
"""``pass``; ``warn`` (a soft failure: freshness past warn_after, or any failure of a gate whose action is
``warn``); ``fail`` (blocks); ``error`` (the gate could not judge: unreadable data, nothing to compare)."""

Action = Literal["block", "warn"]
VERDICT_ORDER: dict[str, int] = {"pass": 0, "warn": 1, "fail": 2, "error": 3}


def worst(verdicts: list[Verdict]) -> Verdict:
    """The most severe verdict; an empty list is a failure (a gate that ran zero checks fails)."""
    if not verdicts:
        return "fail"
    return max(verdicts, key=VERDICT_ORDER.__getitem__)


@dataclass(frozen=True, slots=True)
class Check:
    """One measured condition. ``measured`` holds numbers, names and kinds, never data values."""

    name: str
    verdict: Verdict
    message: str
    measured: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "verdict": self.verdict,
            "message": self.message,
            "measured": self.measured,
        }


@dataclass(frozen=True, slots=True)
class GateResult:
    """One policy entry applied to one artifact (or a failure to apply it)."""

    gate: str  # the gate type: schema, pins, freshness, privacy, licence, auditability, release, ...
    label: str  # the policy entry's name (defaults to the gate type)
    target: str  # the artifact's name@version or short digest
    digest: str | None  # the artifact's digest (None when the entry matched nothing)
    verdict: Verdict
    checks: tuple[Check, ...]
    action: Action = "block"
    notify: str | None = None  # who to tell: an owner name, resolved from ``notify: owner``
    owner: str | None = None
    policy_line: int | None = None  # where the entry is in the policy file (for SARIF and errors)

    @property
    def blocking(self) -> bool:
        """Whether this result fails the run: a failed or errored gate whose action is ``block``."""
        return self.action == "block" and self.verdict in ("fail", "error")

    def to_dict(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "label": self.label,
            "target": self.target,
            "digest": self.digest,
            "verdict": self.verdict,
            "action": self.action,
            "owner": self.owner,
            "notify": self.notify,
            "blocking": self.blocking,
            "policy_line": self.policy_line,
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass(frozen=True, slots=True)
class CheckReport:
    """Everything one ``check`` ran, under one policy (named by its digest)."""

    policy_digest: str
    policy_path: str | None
    results: tuple[GateResult, ...]
    problems: tuple[str, ...] = ()  # policy-level failures (a policy with zero checks, a ref no gate covers)

    @property
    def passed(self) -> bool:
        return not self.problems and not any(r.blocking for r in self.results)

    def exit_code(self, warn_only: bool = False) -> int:
        """0 when nothing blocks (always under ``warn_only``), 1 when a gate blocks."""
        return 0 if warn_only or self.passed else 1

    def to_dict(self) -> dict[str, Any]:
        counts = {v: sum(1 for r in self.results if r.verdict == v) for v in VERDICT_ORDER}
        return {
            "policy_digest": self.policy_digest,
            "policy": self.policy_path,
            "passed": self.passed,
            "problems": list(self.problems),
            "counts": counts,
            "results": [r.to_dict() for r in self.results],
        }
