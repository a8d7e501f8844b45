"""Compare a re-run's output with the recorded one: bit-identical by digest, else equivalent within tolerance
for the formats whose meaning is known.

* JSON (metrics and the like): same structure; numbers within ``rtol``/``atol``, everything else equal;
* NumPy ``.npy`` / ``.npz``: same shapes and dtypes kinds, values within tolerance (NaNs in the same places);
* Parquet: same columns and row count, numeric columns within tolerance, others equal;
* pickled scikit-learn models (``.pkl``/``.pickle``/``.joblib``): equivalent when their predictions on the
  recorded validation data (a ``validation`` input: ``.npy``/``.npz``/``.csv``/``.parquet``) agree within
  tolerance; without validation data there is nothing to compare them on, so they are different.

Each comparison returns an ``OutputComparison`` with the largest differences found, so a report can say why.
Unpickling runs code from the pickle: only the recorded outputs of the user's own store are unpickled.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_SHOWN = 5


@dataclass
class OutputComparison:
    """The verdict for one output: ``identical``, ``equivalent``, ``different`` or ``missing``."""

    name: str
    verdict: str
    original: str | None = None
    reproduced: str | None = None
    method: str = "digest"
    max_abs: float | None = None
    max_rel: float | None = None
    differences: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "verdict": self.verdict,
            "original": self.original,
            "reproduced": self.reproduced,
            "method": self.method,
            "differences": self.differences[:MAX_SHOWN],
        }
        if self.max_abs is not None:
            out["max_abs"] = self.max_abs
            out["max_rel"] = self.max_rel
        return out


class _Tolerance:
    def __init__(self, rtol: float, atol: float) -> None:
        self.rtol, self.atol = rtol, atol
        self.max_abs = 0.0
        self.max_rel = 0.0
        self.differences: list[tuple[float, str]] = []

    def close(self, a: float, b: float, where: str) -> bool:
        if math.isnan(a) and math.isnan(b):
            return True
        diff = abs(a - b)
        rel = diff / max(abs(a), abs(b)) if max(abs(a), abs(b)) > 0 else 0.0
        self.max_abs, self.max_rel = max(self.max_abs, diff), max(self.max_rel, rel)
        ok = diff <= self.atol + self.rtol * abs(a)
        if not ok or diff > 0:
            self.differences.append((diff, f"{where}: {a!r} recorded, {b!r} reproduced"))
        return ok

    def top(self) -> list[str]:
        return [text for _, text in sorted(self.differences, key=lambda d: -d[0])[:MAX_SHOWN]]


def compare_files(
    name: str,
    original: Path,
    reproduced: Path,
    *,
    rtol: float,
    atol: float = 0.0,
    validation: Path | None = None,
) -> OutputComparison:
    """Compare two files that do not have the same digest (see the module docstring)."""
    suffix = "".join(original.suffixes[-1:]).lower()
    comparer = COMPARERS.get(suffix)
    if comparer is None:
        return OutputComparison(
            name,
            "different",
            method="digest",
            differences=[f"no equivalence is defined for {suffix or 'this'} files: the bytes differ"],
        )
    tol = _Tolerance(rtol, atol)
    try:
        ok, notes = comparer(original, reproduced, tol, validation)
    except Exception as exc:  # noqa: BLE001 - a file that cannot be read as its format is simply different
        return OutputComparison(
            name,
            "different",
            method=suffix.lstrip("."),
            differences=[f"could not compare as {suffix}: {type(exc).__name__}: {exc}"],
        )
    return OutputComparison(
        name,
        "equivalent" if ok else "different",
        method=suffix.lstrip("."),
        max_abs=tol.max_abs,
        max_rel=tol.max_rel,
        differences=notes + tol.top(),
    )


# ---------------------------------------------------------------- formats


def _json(a: Path, b: Path, tol: _Tolerance, _v: Path | None) -> tuple[bool, list[str]]:
    notes: list[str] = []
    ok = _json_values(json.loads(a.read_text()), json.loads(b.read_text()), "$", tol, notes)
    return ok, notes


def _json_values(a: Any, b: Any, where: str, tol: _Tolerance, notes: list[str]) -> bool:
    numbers = (int, float)
    if (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        return tol.close(float(a), float(b), where)
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            notes.append(f"{where}: keys differ ({sorted(set(a) ^ set(b))[:5]})")
            return False
        return all(_json_values(a[k], b[k], f"{where}.{k}", tol, notes) for k in sorted(a))
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            notes.append(f"{where}: {len(a)} items recorded, {len(b)} reproduced")
            return False
        return all(_json_values(x, y, f"{where}[{i}]", tol, notes) for i, (x, y) in enumerate(zip(a, b)))
    if a != b:
        notes.append(f"{where}: {a!r} recorded, {b!r} reproduced")
        return False
    return True


def _arrays(a: Any, b: Any, where: str, tol: _Tolerance, notes: list[str]) -> bool:
    import numpy as np

    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        notes.append(f"{where}: shape {a.shape} recorded, {b.shape} reproduced")
        return False
    if a.dtype.kind in "fciu" and b.dtype.kind in "fciu":
        if a.size == 0:
            return True
        fa, fb = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
        nan_a, nan_b = np.isnan(fa), np.isnan(fb)
        if (nan_a != nan_b).any():
            notes.append(f"{where}: NaNs in different places")
            return False
        keep = ~nan_a
        fa, fb = fa[keep], fb[keep]
        if fa.size == 0:
            return True
        diff = np.abs(fa - fb)
        scale = np.maximum(np.abs(fa), np.abs(fb))
        rel = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
        worst = int(np.argmax(diff))
        tol.max_abs, tol.max_rel = max(tol.max_abs, float(diff.max())), max(tol.max_rel, float(rel.max()))
        if diff[worst] > 0:
            tol.differences.append(
                (
                    float(diff[worst]),
                    f"{where}[{worst}]: {float(fa[worst])!r} recorded, {float(fb[worst])!r} reproduced",
                )
            )
        return bool((diff <= tol.atol + tol.rtol * np.abs(fa)).all())
    same = bool(np.array_equal(a, b))
    if not same:
        notes.append(f"{where}: non-numeric values differ")
    return same


def _npy(a: Path, b: Path, tol: _Tolerance, _v: Path | None) -> tuple[bool, list[str]]:
    import numpy as np

    notes: list[str] = []
    return _arrays(np.load(a, allow_pickle=False), np.load(b, allow_pickle=False), "array", tol, notes), notes


def _npz(a: Path, b: Path, tol: _Tolerance, _v: Path | None) -> tuple[bool, list[str]]:
    import numpy as np

    notes: list[str] = []
    with np.load(a, allow_pickle=False) as x, np.load(b, allow_pickle=False) as y:
        if set(x.files) != set(y.files):
            return False, [f"arrays differ: {sorted(set(x.files) ^ set(y.files))}"]
        return all(_arrays(x[k], y[k], k, tol, notes) for k in sorted(x.files)), notes


def _parquet(a: Path, b: Path, tol: _Tolerance, _v: Path | None) -> tuple[bool, list[str]]:
    import pyarrow.parquet as pq

    x, y = pq.read_table(a), pq.read_table(b)
    if x.column_names != y.column_names:
        return False, [f"columns {x.column_names} recorded, {y.column_names} reproduced"]
    if x.num_rows != y.num_rows:
        return False, [f"{x.num_rows} rows recorded, {y.num_rows} reproduced"]
    notes: list[str] = []
    return all(
        _arrays(
            x.column(c).to_numpy(zero_copy_only=False),
            y.column(c).to_numpy(zero_copy_only=False),
            c,
            tol,
            notes,
        )
        for c in x.column_names
    ), notes


def _validation_features(path: Path) -> Any:
    import numpy as np

    suffix = path.suffix.lower()
    if suffix == ".npy":
        return np.load(path, allow_pickle=False)
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            return data["X"] if "X" in data.files else data[data.files[0]]
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pandas()
    if suffix == ".csv":
        return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    raise ValueError(f"validation data {path.name}: not .npy, .npz, .parquet or .csv")


def _model(a: Path, b: Path, tol: _Tolerance, validation: Path | None) -> tuple[bool, list[str]]:
    if validation is None:
        return False, [
            (
                "pickled models differ byte for byte and no validation data was recorded (use an input "
                "with role 'validation') to compare their predictions on"
            )
        ]
    original, reproduced = _unpickle(a), _unpickle(b)
    features = _validation_features(validation)
    notes = [f"compared predictions on {validation.name}"]
    return _arrays(original.predict(features), reproduced.predict(features), "predictions", tol, notes), notes


def _unpickle(path: Path) -> Any:
    """A recorded model (unpickling runs its code: only the user's own recorded outputs get here)."""
    if path.suffix.lower() == ".joblib":
        import joblib

        return joblib.load(path)
    import pickle

    with path.open("rb") as handle:
        return pickle.load(handle)


COMPARERS: dict[str, Callable[[Path, Path, _Tolerance, Path | None], tuple[bool, list[str]]]] = {
    ".json": _json,
    ".npy": _npy,
    ".npz": _npz,
    ".parquet": _parquet,
    ".pkl": _model,
    ".pickle": _model,
    ".joblib": _model,
}


def overall(comparisons: list[OutputComparison]) -> str:
    """The verdict of a reproduction from its outputs' verdicts."""
    if not comparisons:
        return "identical"
    verdicts = {c.verdict for c in comparisons}
    if verdicts <= {"identical"}:
        return "identical"
    if verdicts <= {"identical", "equivalent"}:
        return "equivalent"
    return "different"
