"""The reproducibility gate: the R(m) predicate — the run that produced ``m`` recorded the digests of its
data,
its code and its environment.

Computed here in one function over the producing run and its inputs; the reproduce feature (a closure check
with blob presence and re-execution) is meant to replace this predicate with its own when it lands.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..model import Artifact, Run
from .model import Check

CODE_CONTEXT = ("code", "git")
ENVIRONMENT_CONTEXT = ("environment", "packages", "python", "container")


def reproducible(run: Run | None, inputs: Sequence[tuple[Artifact, str]]) -> list[Check]:
    """Checks for R(m): a producing run; data inputs; a code digest; an environment digest."""
    if run is None:
        return [Check("producing run", "fail", "no run produced this artifact: nothing to reproduce it from")]
    kinds = {(a.kind.value, role) for a, role in inputs}
    data = [
        a
        for a, role in inputs
        if a.kind.value not in ("code", "environment") and role not in ("code", "environment")
    ]
    code = any(run.context.get(k) for k in CODE_CONTEXT) or any(k == "code" or r == "code" for k, r in kinds)
    env = any(run.context.get(k) for k in ENVIRONMENT_CONTEXT) or any(
        k == "environment" or r == "environment" for k, r in kinds
    )
    label = f"run {run.job} ({run.id[:8]})"
    return [
        Check("producing run", "pass", f"produced by {label}", {"run": run.id}),
        Check(
            "data",
            "pass" if data else "fail",
            f"{len(data)} data input(s) recorded with digests"
            if data
            else f"{label} recorded no data inputs",
            {"inputs": len(data)},
        ),
        Check(
            "code",
            "pass" if code else "fail",
            "the code is recorded (git commit or code manifest)"
            if code
            else f"{label} recorded no code digest",
            {"recorded": bool(code)},
        ),
        Check(
            "environment",
            "pass" if env else "fail",
            "the environment is recorded" if env else f"{label} recorded no environment",
            {"recorded": bool(env)},
        ),
    ]
