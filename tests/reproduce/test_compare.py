"""Equivalence within tolerance for the known formats, with the largest differences reported."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from mlineage.reproduce.compare import compare_files, overall


def _pair(tmp_path: Path, name: str) -> tuple[Path, Path]:
    (tmp_path / "a").mkdir(exist_ok=True)
    (tmp_path / "b").mkdir(exist_ok=True)
    return tmp_path / "a" / name, tmp_path / "b" / name


def test_json_metrics_within_rtol_and_structure_exact(tmp_path: Path) -> None:
    a, b = _pair(tmp_path, "m.json")
    a.write_text(json.dumps({"acc": 0.9, "n": 10, "tag": "x"}))
    b.write_text(json.dumps({"acc": 0.9000001, "n": 10, "tag": "x"}))
    assert compare_files("m", a, b, rtol=1e-5).verdict == "equivalent"
    far = compare_files("m", a, b, rtol=1e-9)
    assert far.verdict == "different" and far.differences[0].startswith("$.acc: 0.9 recorded")
    b.write_text(json.dumps({"acc": 0.9, "n": 10, "tag": "y"}))
    assert compare_files("m", a, b, rtol=1.0).verdict == "different"


def test_arrays_npz_and_nan_positions(tmp_path: Path) -> None:
    a, b = _pair(tmp_path, "x.npz")
    np.savez(a, w=np.array([1.0, np.nan, 3.0]), k=np.arange(3))
    np.savez(b, w=np.array([1.0 + 1e-9, np.nan, 3.0]), k=np.arange(3))
    found = compare_files("x", a, b, rtol=1e-6)
    assert found.verdict == "equivalent" and 0 < found.max_abs < 1e-8
    np.savez(b, w=np.array([1.0, 2.0, 3.0]), k=np.arange(3))
    assert "NaNs in different places" in compare_files("x", a, b, rtol=1.0).differences[0]


def test_parquet_columns(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    a, b = _pair(tmp_path, "t.parquet")
    pq.write_table(pa.table({"x": [1.0, 2.0], "s": ["a", "b"]}), a)
    pq.write_table(pa.table({"x": [1.0, 2.0000001], "s": ["a", "b"]}), b)
    assert compare_files("t", a, b, rtol=1e-5).verdict == "equivalent"
    pq.write_table(pa.table({"x": [1.0, 2.0], "s": ["a", "c"]}), b)
    assert compare_files("t", a, b, rtol=1e-5).verdict == "different"


def test_sklearn_models_by_predictions_on_validation_data(tmp_path: Path) -> None:
    linear = pytest.importorskip("sklearn.linear_model")
    x = np.arange(20, dtype=float).reshape(10, 2)
    y = x @ np.array([1.0, 2.0])
    first = linear.LinearRegression().fit(x, y)
    second = linear.LinearRegression().fit(x + 1e-12, y)
    a, b = _pair(tmp_path, "model.pkl")
    a.write_bytes(pickle.dumps(first))
    b.write_bytes(pickle.dumps(second))
    validation = tmp_path / "val.npy"
    np.save(validation, x)
    assert compare_files("model", a, b, rtol=1e-6, validation=validation).verdict == "equivalent"
    blind = compare_files("model", a, b, rtol=1e-6)
    assert blind.verdict == "different" and "no validation data" in blind.differences[0]
    assert overall([blind]) == "different"
