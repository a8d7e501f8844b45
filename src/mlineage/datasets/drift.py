"""Drift between two versions of a table, column by column, from their profiles alone (pure; numpy).

Numeric columns are compared through their quantile functions (101 quantiles each): the population
stability index over A's deciles (plus a bucket for NULLs), the Kolmogorov-Smirnov statistic (the largest
gap between the two cumulative distributions the quantiles describe) and the Wasserstein-1 distance (the
mean gap between the quantile functions, also given relative to A's standard deviation); an integer
column with few values keeps its exact value counts, which make these exact. Categorical
columns are compared through their top values and an "other" bucket: Jensen-Shannon distance (base 2, in
[0, 1]) and the chi-squared test of the 2 x k table (scipy, loaded only here). A sketch answers to within
its resolution (1% of the rows for the quantiles); docs/datasets.md says what that means in practice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ValidationError
from .profile import Profile

DEFAULT_THRESHOLDS = {"psi": 0.2, "ks": 0.1, "js": 0.1}
KNOWN_METRICS = ("psi", "ks", "wasserstein", "wasserstein_std", "js", "chi2", "chi2_p")
_EPS = 1e-4


@dataclass
class ColumnDrift:
    column: str
    kind: str
    metrics: dict[str, float]
    crossed: list[str] = field(default_factory=list)  # "psi 0.31 > 0.2"
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "kind": self.kind,
            "metrics": self.metrics,
            "crossed": self.crossed,
            "note": self.note,
        }


@dataclass
class DriftReport:
    columns: list[ColumnDrift]
    thresholds: dict[str, float]
    rows_a: int
    rows_b: int

    @property
    def drifted(self) -> list[ColumnDrift]:
        return [c for c in self.columns if c.crossed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows_a": self.rows_a,
            "rows_b": self.rows_b,
            "thresholds": self.thresholds,
            "drifted": [c.column for c in self.drifted],
            "columns": [c.to_dict() for c in self.columns],
        }


def parse_thresholds(items: Sequence[str]) -> dict[str, float]:
    """``["psi=0.1", "chi2_p=0.01"]`` over the defaults; ``ks=off`` drops one."""
    out = dict(DEFAULT_THRESHOLDS)
    for item in items:
        name, eq, value = item.partition("=")
        name = name.strip()
        if not eq or name not in KNOWN_METRICS:
            raise ValidationError(
                "threshold",
                f"{item!r} is not METRIC=VALUE",
                f"metrics: {', '.join(KNOWN_METRICS)}; e.g. psi=0.1",
            )
        if value.strip() == "off":
            out.pop(name, None)
            continue
        try:
            out[name] = float(value)
        except ValueError:
            raise ValidationError("threshold", f"{value!r} in {item!r} is not a number") from None
    return out


class _Distribution:
    """A column's cumulative distribution: exact steps from a histogram of values, or piecewise-linear
    through the quantiles."""

    def __init__(self, column: Mapping[str, Any]) -> None:
        import numpy as np

        histogram = column.get("histogram")
        if histogram:
            self.exact = True
            self.xs = np.asarray([v for v, _ in histogram], float)
            counts = np.asarray([n for _, n in histogram], float)
            self.fs = np.cumsum(counts) / counts.sum()
        else:
            self.exact = False
            q = np.asarray(column.get("quantiles") or [], float)
            u = np.linspace(0.0, 1.0, len(q))
            self.xs, idx = np.unique(q, return_inverse=True)
            self.fs = np.zeros(len(self.xs))
            np.maximum.at(self.fs, idx, u)

    def __call__(self, x: Any) -> Any:
        import numpy as np

        if self.exact or len(self.xs) == 1:
            i = np.searchsorted(self.xs, x, side="right")
            return np.where(i > 0, self.fs[np.maximum(i - 1, 0)], 0.0)
        return np.interp(x, self.xs, self.fs, left=0.0, right=1.0)

    def quantile(self, u: Any) -> Any:
        """The smallest value whose cumulative share reaches ``u``."""
        import numpy as np

        i = np.searchsorted(self.fs, np.asarray(u) - 1e-12, side="left")
        return self.xs[np.minimum(i, len(self.xs) - 1)]


def numeric_drift(a: Mapping[str, Any], b: Mapping[str, Any], rows_a: int, rows_b: int) -> dict[str, float]:
    import numpy as np

    if not (a.get("quantiles") or a.get("histogram")) or not (b.get("quantiles") or b.get("histogram")):
        return {}
    fa, fb = _Distribution(a), _Distribution(b)
    points = np.union1d(fa.xs, fb.xs)
    ca, cb = fa(points), fb(points)
    ks = float(np.max(np.abs(ca - cb)))
    if fa.exact and fb.exact:  # the area between two step functions
        wasserstein = float(np.sum(np.abs(ca - cb)[:-1] * np.diff(points)))
    else:
        u = np.linspace(0.0, 1.0, 201)
        wasserstein = float(np.trapezoid(np.abs(fa.quantile(u) - fb.quantile(u)), u))
    edges = np.unique(fa.quantile(np.linspace(0.1, 0.9, 9)))  # A's deciles bound the bins
    present_a = 1 - a["nulls"] / rows_a if rows_a else 0.0
    present_b = 1 - b["nulls"] / rows_b if rows_b else 0.0
    pa = np.diff(np.concatenate([[0.0], fa(edges), [1.0]])) * present_a
    pb = np.diff(np.concatenate([[0.0], fb(edges), [1.0]])) * present_b
    pa, pb = np.append(pa, 1 - present_a), np.append(pb, 1 - present_b)  # and a bin for NULLs
    pa, pb = np.clip(pa, _EPS, None), np.clip(pb, _EPS, None)
    psi = float(np.sum((pb - pa) * np.log(pb / pa)))
    std = a.get("std") or 0.0
    out = {"psi": psi, "ks": ks, "wasserstein": wasserstein}
    if std:
        out["wasserstein_std"] = wasserstein / std
    return out


def categorical_drift(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, float]:
    import numpy as np

    counts_a = {str(v): n for v, n in a.get("top", [])}
    counts_b = {str(v): n for v, n in b.get("top", [])}
    values = sorted(set(counts_a) | set(counts_b))
    va = np.array([counts_a.get(v, 0) for v in values] + [a.get("other", 0), a.get("nulls", 0)], float)
    vb = np.array([counts_b.get(v, 0) for v in values] + [b.get("other", 0), b.get("nulls", 0)], float)
    keep = (va + vb) > 0
    va, vb = va[keep], vb[keep]
    if va.sum() == 0 or vb.sum() == 0:
        return {}
    pa, pb = va / va.sum(), vb / vb.sum()
    m = (pa + pb) / 2

    def kl(p: Any, q: Any) -> float:
        nz = p > 0
        return float(np.sum(p[nz] * np.log2(p[nz] / q[nz])))

    js = math.sqrt(max(0.0, (kl(pa, m) + kl(pb, m)) / 2))
    out = {"js": js}
    if len(va) > 1:
        from scipy.stats import chi2_contingency

        stat, p, _, _ = chi2_contingency(np.vstack([va, vb]))
        out.update(chi2=float(stat), chi2_p=float(p))
    pa_c, pb_c = np.clip(pa, _EPS, None), np.clip(pb, _EPS, None)
    out["psi"] = float(np.sum((pb_c - pa_c) * np.log(pb_c / pa_c)))
    return out


def _crossed(metrics: Mapping[str, float], thresholds: Mapping[str, float]) -> list[str]:
    out = []
    for name, limit in thresholds.items():
        value = metrics.get(name)
        if value is None:
            continue
        if name == "chi2_p":  # a p-value crosses by falling below
            if value < limit:
                out.append(f"{name} {value:.3g} < {limit:g}")
        elif value > limit:
            out.append(f"{name} {value:.3g} > {limit:g}")
    return out


def drift(
    a: Profile,
    b: Profile,
    *,
    columns: Sequence[str] | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> DriftReport:
    """Compare the columns two profiles share (or ``columns``); a column is drifted when any of its metrics
    crosses its threshold."""
    limits = dict(DEFAULT_THRESHOLDS if thresholds is None else thresholds)
    names = list(columns) if columns else [c["name"] for c in a.columns if b.column(c["name"]) is not None]
    out = []
    for name in names:
        ca, cb = a.column(name), b.column(name)
        if ca is None or cb is None:
            missing = "A" if ca is None else "B"
            raise ValidationError(
                "columns",
                f"{name!r} is not a column of {missing}",
                f"columns of both: {', '.join(c['name'] for c in a.columns if b.column(c['name']))}",
            )
        kind = ca["kind"] if ca["kind"] == cb["kind"] else "mixed"
        if kind == "numeric":
            metrics = numeric_drift(ca, cb, a.rows, b.rows)
        elif kind == "categorical":
            metrics = categorical_drift(ca, cb)
        else:
            metrics = {}
        note = (
            ""
            if metrics
            else ("its type changed" if kind == "mixed" else f"no distribution kept for {kind} columns")
        )
        rounded = {k: round(v, 6) for k, v in metrics.items()}
        out.append(ColumnDrift(name, kind, rounded, _crossed(metrics, limits), note))
    return DriftReport(out, limits, a.rows, b.rows)
