"""Drift from profiles: detected when a distribution moves, not when it only resamples (fixed seeds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from mlineage.datasets.drift import drift, parse_thresholds
from mlineage.datasets.profile import Profile
from mlineage.datasets.service import compute_profile
from mlineage.errors import ValidationError

from .helpers import side, write

N = 20_000


def _table(seed: int, shift: float = 0.0, weights: tuple[float, float, float] = (0.5, 0.3, 0.2)) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "amount": rng.normal(100 + shift, 15, N),
            "count": rng.poisson(4, N),
            "country": rng.choice(["de", "fr", "it"], N, p=list(weights)),
        }
    )


def _profile(tmp_path: Path, name: str, t: pa.Table) -> Profile:
    return compute_profile(side(write(tmp_path / name, t)))


def test_a_resample_of_the_same_distribution_does_not_drift(tmp_path: Path) -> None:
    report = drift(_profile(tmp_path, "a.parquet", _table(1)), _profile(tmp_path, "b.parquet", _table(2)))
    assert report.drifted == []
    by = {c.column: c for c in report.columns}
    assert by["amount"].kind == "numeric" and by["amount"].metrics["psi"] < 0.05
    assert by["amount"].metrics["ks"] < 0.05
    assert by["country"].kind == "categorical" and by["country"].metrics["js"] < 0.05


def test_a_shifted_mean_and_new_mix_drift(tmp_path: Path) -> None:
    a = _profile(tmp_path, "a.parquet", _table(1))
    b = _profile(tmp_path, "b.parquet", _table(2, shift=10.0, weights=(0.2, 0.3, 0.5)))
    report = drift(a, b)
    assert sorted(c.column for c in report.drifted) == ["amount", "country"]
    amount = next(c for c in report.columns if c.column == "amount")
    assert amount.metrics["ks"] > 0.2 and amount.metrics["psi"] > 0.2
    assert amount.metrics["wasserstein"] == pytest.approx(10.0, rel=0.15)
    assert any(x.startswith("psi ") for x in amount.crossed)
    country = next(c for c in report.columns if c.column == "country")
    assert country.metrics["js"] > 0.1 and country.metrics["chi2_p"] < 1e-6


def test_profiles_survive_their_bytes(tmp_path: Path) -> None:
    p = _profile(tmp_path, "a.parquet", _table(1))
    again = Profile.from_bytes(p.to_bytes())
    assert again == p and again.to_bytes() == p.to_bytes()
    assert p.rows == N and p.column("country") is not None
    country = p.column("country")
    assert country is not None and sum(n for _, n in country["top"]) == N


def test_thresholds(tmp_path: Path) -> None:
    assert parse_thresholds(["psi=0.5", "ks=off", "chi2_p=0.01"]) == {"psi": 0.5, "js": 0.1, "chi2_p": 0.01}
    with pytest.raises(ValidationError, match="METRIC=VALUE"):
        parse_thresholds(["nope=1"])
    a = _profile(tmp_path, "a.parquet", _table(1))
    with pytest.raises(ValidationError, match="'missing' is not a column"):
        drift(a, a, columns=["missing"])
