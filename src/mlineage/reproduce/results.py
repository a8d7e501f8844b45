"""What ``reproduce`` answers: the options it takes, each step's result and the whole result.

Kept apart from the re-run itself (``rerun.py``) so that the first-call path of a no-op ``--upstream``
(``quick.py``) can build the same answer without importing the machinery that re-runs a step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..model import Run

if TYPE_CHECKING:
    from .compare import OutputComparison


@dataclass
class ReproduceOptions:
    workdir: Path | None = None
    strict: bool = False
    rtol: float = 1e-6
    atol: float = 0.0
    reuse: bool = False
    upstream: bool = False
    explain: bool = False
    repo: Path | None = None  # the repository the code comes from (default: the one around the cwd)


@dataclass
class StepResult:
    """One step's reproduction: the runs, the verdict and the evidence."""

    original: Run
    verdict: str  # identical | equivalent | different | failed | reused | up-to-date
    run_id: str | None = None
    outputs: list[OutputComparison] = field(default_factory=list)
    environment: list[str] = field(default_factory=list)
    workdir: str | None = None
    message: str = ""
    replaced: dict[str, str] = field(default_factory=dict)  # recorded output digest → the new one
    key: str | None = None
    explain: str | None = None
    stale: bool = False  # re-run by --upstream because its key changed: a different output is expected

    @property
    def ok(self) -> bool:
        if self.stale:
            return self.verdict != "failed"
        return self.verdict in ("identical", "equivalent", "reused", "up-to-date")

    def to_dict(self) -> dict[str, Any]:
        return {
            "original_run": self.original.id,
            "job": self.original.job,
            "run": self.run_id,
            "verdict": self.verdict,
            "ok": self.ok,
            "outputs": [o.to_dict() for o in self.outputs],
            "environment": list(self.environment),
            "workdir": self.workdir,
            "message": self.message,
            "key": self.key,
            "explain": self.explain,
            "stale": self.stale,
        }


@dataclass
class ReproduceResult:
    root: str
    steps: list[StepResult]
    repo: Path | None = None  # --upstream: the repository whose working tree was compared
    watched: list[str] = field(default_factory=list)  # --upstream: declared source files it depends on

    @property
    def noop(self) -> bool:
        """Every step was up to date: nothing ran, nothing was recorded."""
        return all(s.verdict == "up-to-date" for s in self.steps)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    @property
    def verdict(self) -> str:
        return self.steps[-1].verdict if self.steps else "up-to-date"

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "ok": self.ok,
            "verdict": self.verdict,
            "steps": [s.to_dict() for s in self.steps],
        }
