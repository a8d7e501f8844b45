"""The reproducibility gate's checks, from the R(m) verdict of ``mlineage.reproduce``: each term of each
judged run is one check (a failing optional term, such as unrecorded determinism flags, is a warning)."""

from __future__ import annotations

from ..reproduce.predicate import Reproducibility
from .model import Check, Verdict


def checks_of(report: Reproducibility) -> list[Check]:
    checks: list[Check] = []
    if report.source is not None:
        term = report.source
        checks.append(Check("source", "pass" if term.ok else "fail",
                            "; ".join(term.evidence if term.ok else term.reasons) or term.name))
    judged = report.judged
    for verdict in judged:
        who = f" (run {verdict.job} {verdict.run_id[:8]})" if len(judged) > 1 else ""
        for term in verdict.terms:
            outcome: Verdict = "pass" if term.ok else "fail" if term.required else "warn"
            text = "; ".join(term.reasons if not term.ok else term.evidence) or term.name
            checks.append(Check(f"{term.name}{who}", outcome, text, {"run": verdict.run_id}))
    if not checks:
        checks.append(Check("producing run", "fail", "no run produced this artifact and no source is "
                            "recorded: nothing to reproduce it from"))
    return checks
