"""The release comparison gate: a candidate model against the model in production now, on the metrics their
evaluation runs recorded, each with a direction, an allowed regression and an optional absolute threshold.

Where both models have several evaluation runs on the same evaluation dataset (seeds), the runs are paired
(by their ``seed`` parameter, else in recording order) and the decision is made on the paired differences'
confidence interval (Student's t), so one lucky run does not pass a release. The candidate must have been
evaluated on an evaluation dataset digest the current model was also evaluated on, or the gate says it cannot
compare.

"Current" is named in the policy (``current: classifier@3``). ``alias:NAME`` asks the alias resolvers
registered with ``register_alias_resolver`` (the model registry plugs in there); with none, it is an error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..model import Artifact, Run
from .model import Check

AliasResolver = Callable[[str], str | None]
_ALIAS_RESOLVERS: list[AliasResolver] = []


def register_alias_resolver(resolver: AliasResolver) -> None:
    """Plug in a lookup from alias name to a REF (the registry's ``production`` alias, for one)."""
    if resolver not in _ALIAS_RESOLVERS:
        _ALIAS_RESOLVERS.append(resolver)


def current_ref(text: str) -> str:
    """The REF the policy's ``current`` names: as written, or what an alias resolver says for
    ``alias:NAME``."""
    if not text.startswith("alias:"):
        return text
    name = text[len("alias:") :]
    for resolver in _ALIAS_RESOLVERS:
        found = resolver(name)
        if found:
            return found
    raise ConfigError(
        f"no alias resolver knows {text!r}: name the current model by REF (current: classifier@3)"
    )


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One evaluation run of a model: its metrics, the evaluation data digests, its seed if any."""

    run: Run
    datasets: frozenset[str]
    seed: Any = None


def evaluations_of(
    model: Artifact, consumers: Sequence[Run], inputs_of: Callable[[str], Sequence[tuple[Artifact, str]]]
) -> list[Evaluation]:
    """The completed ``evaluate`` runs that used ``model``, each with its other data inputs."""
    found = []
    for run in consumers:
        if run.kind.value != "evaluate" or run.status.value not in ("completed", "running"):
            continue
        data = frozenset(
            str(a.digest)
            for a, role in inputs_of(run.id)
            if a.digest != model.digest
            and a.kind.value not in ("code", "environment")
            and role not in ("code", "environment")
        )
        found.append(Evaluation(run, data, run.params.get("seed")))
    return found


def pairs(candidate: list[Evaluation], current: list[Evaluation]) -> list[tuple[Evaluation, Evaluation]]:
    """Pairs by seed where both sides name seeds (only seeds both have), else by order."""
    if all(e.seed is not None for e in candidate + current):
        by_seed = {str(e.seed): e for e in current}
        return [(c, by_seed[str(c.seed)]) for c in candidate if str(c.seed) in by_seed]
    return list(zip(candidate, current, strict=False))


def t_cdf(t: float, dof: int) -> float:
    """Student's t distribution function for a whole number of degrees of freedom, in closed form
    (Abramowitz and Stegun 26.7.3-4: a finite series in cos(theta), theta = atan(t / sqrt(dof)))."""
    theta = math.atan(t / math.sqrt(dof))
    c2, s = math.cos(theta) ** 2, math.sin(theta)
    if dof % 2:  # odd
        series, term = 0.0, math.cos(theta)
        for k in range(1, (dof - 1) // 2 + 1):
            series += term
            term *= c2 * (2 * k) / (2 * k + 1)
        inside = (2 / math.pi) * (theta + (s * series if dof > 1 else 0.0))
    else:
        series, term = 0.0, 1.0
        for k in range(1, dof // 2 + 1):
            series += term
            term *= c2 * (2 * k - 1) / (2 * k)
        inside = s * series
    return 0.5 + inside / 2  # inside = P(-t < T < t), signed with t


def t_quantile(confidence: float, dof: int) -> float:
    """The two-sided ``confidence`` quantile of Student's t with ``dof`` degrees of freedom, by bisection on
    ``t_cdf`` (scipy's ``stdtrit`` gives the same to 1e-9, but importing scipy costs ``mlineage check``
    more than every gate together)."""
    target = 0.5 + confidence / 2
    low, high = 0.0, 1.0
    while t_cdf(high, dof) < target:
        high *= 2
    for _ in range(100):
        mid = (low + high) / 2
        if t_cdf(mid, dof) < target:
            low = mid
        else:
            high = mid
        if high - low < 1e-12:
            break
    return (low + high) / 2


def compare_metric(
    name: str, rule: dict[str, Any], matched: list[tuple[Evaluation, Evaluation]], confidence: float
) -> Check:
    """One metric: the paired improvement (positive = better in the rule's direction) and its interval."""
    sign = 1.0 if rule["direction"] == "higher" else -1.0
    allowed = float(rule.get("max_regression", 0.0))
    diffs, cands = [], []
    for cand, cur in matched:
        a, b = cand.run.metrics.get(name), cur.run.metrics.get(name)
        if a is None or b is None:
            return Check(
                name,
                "error",
                f"{name} is not recorded on every paired evaluation run",
                {"pairs": len(matched)},
            )
        diffs.append(sign * (float(a) - float(b)))
        cands.append(float(a))
    n = len(diffs)
    mean = sum(diffs) / n
    measured: dict[str, Any] = {
        "pairs": n,
        "improvement": mean,
        "direction": rule["direction"],
        "max_regression": allowed,
        "candidate": sum(cands) / n,
    }
    if n >= 2:
        sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
        half = t_quantile(confidence, n - 1) * sd / math.sqrt(n)
        low, high = mean - half, mean + half
        measured.update({"ci_low": low, "ci_high": high, "confidence": confidence})
        ok = low >= -allowed
        text = (
            f"{name}: improvement {mean:+.4g} ({confidence:.0%} CI [{low:+.4g}, {high:+.4g}], {n} paired "
            f"runs), allowed regression {allowed:g}"
        )
    else:
        ok = mean >= -allowed
        text = f"{name}: improvement {mean:+.4g} (one run each), allowed regression {allowed:g}"
    if ok and "threshold" in rule:
        value = measured["candidate"]
        ok = value >= rule["threshold"] if sign > 0 else value <= rule["threshold"]
        measured["threshold"] = rule["threshold"]
        text += f"; candidate {value:.4g} against threshold {rule['threshold']:g}"
    return Check(name, "pass" if ok else "fail", text, measured)


def compare_release(
    candidate: list[Evaluation],
    current: list[Evaluation],
    metrics: dict[str, dict[str, Any]],
    confidence: float = 0.95,
) -> list[Check]:
    """One check for the shared evaluation data, then one per metric."""
    if not candidate or not current:
        side = "candidate" if not candidate else "current model"
        return [Check("evaluation data", "error", f"the {side} has no evaluation runs: cannot compare")]
    shared = set().union(*(e.datasets for e in candidate)) & set().union(*(e.datasets for e in current))
    if not shared:
        return [
            Check(
                "evaluation data",
                "error",
                "the candidate was not evaluated on an evaluation dataset "
                "digest the current model was evaluated on: cannot compare",
                {"candidate_datasets": len(set().union(*(e.datasets for e in candidate)))},
            )
        ]
    cand = [e for e in candidate if e.datasets & shared]
    cur = [e for e in current if e.datasets & shared]
    matched = pairs(cand, cur)
    if not matched:
        return [Check("evaluation data", "error", "no evaluation runs pair up (their seeds differ)")]
    checks = [
        Check(
            "evaluation data",
            "pass",
            f"{len(matched)} paired evaluation run(s) on the same data",
            {"datasets": sorted(shared), "pairs": len(matched)},
        )
    ]
    checks.extend(compare_metric(name, rule, matched, confidence) for name, rule in metrics.items())
    return checks
