"""MLflow stores into the ledger. The stores are written by MLflow itself (``bench/mlflow_store.py``) and read
through MlflowClient, each in a subprocess of a Python that has MLflow: the test venv's own (``mlflow-skinny``
and pandas are in the dev extra), else ``MLINEAGE_MLFLOW_PYTHON`` or the checkout's ``.venv-bench``. Without
one those tests skip, except where CI=true: there they fail. The subprocesses run in a temporary folder, so
nothing MLflow writes by default (``./mlflow.db``, ``./mlruns``) lands in the checkout. The mapping itself is
pure and tested here in-process."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlineage.importers.mlflow import (
    ArtifactRecord,
    ModelVersionRecord,
    RunRecord,
    map_registered_model,
    map_run,
)

ROOT = Path(__file__).resolve().parents[2]


def _mlflow_python() -> str | None:
    candidates = (os.environ.get("MLINEAGE_MLFLOW_PYTHON"), sys.executable,
                  str(ROOT / ".venv-bench" / "bin" / "python"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            done = subprocess.run([candidate, "-c", "import mlflow.tracking"], capture_output=True,
                                  check=False)
            if done.returncode == 0:
                return candidate
    return None


PYTHON = _mlflow_python()
NO_MLFLOW = "no Python with MLflow (pip install -e '.[dev]', or set MLINEAGE_MLFLOW_PYTHON)"


def _require_mlflow() -> str:
    if PYTHON is None:
        if os.environ.get("CI") == "true":
            pytest.fail(NO_MLFLOW + " (CI=true: the MLflow import tests must run)", pytrace=False)
        pytest.skip(NO_MLFLOW)
    return PYTHON


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT / "src"), MLFLOW_ALLOW_FILE_STORE="true",
                MLFLOW_ENABLE_ASYNC_LOGGING="false")


def _generate(uri: str, *args: str, cwd: Path) -> None:
    subprocess.run([_require_mlflow(), str(ROOT / "bench" / "mlflow_store.py"), uri, *args], check=True,
                   capture_output=True, env=_env(), timeout=300, cwd=cwd)


def _probe(tracking: str, store: str, blobs: Path) -> dict[str, Any]:
    probe = str(Path(__file__).with_name("mlflow_probe.py"))
    done = subprocess.run([_require_mlflow(), probe, tracking, store, str(blobs)], capture_output=True,
                          text=True, env=_env(), timeout=300, check=False, cwd=blobs.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def file_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file store with what the importer maps: runs, a failed run, a dataset input, an artifact, a logged
    model, a registered model with two versions and an alias."""
    root = tmp_path_factory.mktemp("mlflow") / "mlruns"
    _generate(str(root), "--runs", "2", "--params", "3", "--values", "1500", "--rich", cwd=root.parent)
    return root


@pytest.mark.slow  # MLflow writes the stores (its SQLite migrations alone take seconds)
def test_file_store_imports_everything_and_reimport_adds_nothing(file_store: Path, store_uri: str,
                                                                 tmp_path: Path) -> None:
    out = _probe(str(file_store), store_uri, tmp_path / "blobs")
    first, second, forced = out["first"], out["second"], out["forced"]
    assert first["imported"] == first["units"] == 5  # 4 runs, 1 registered model
    assert (second["imported"], second["skipped"], second["appended"]) == (0, 5, 0)
    assert forced["imported"] == 5 and forced["appended"] == 0  # same ids, same content
    runs = {r["context"]["mlflow"]["run_name"]: r for r in out["runs"]}
    assert runs["crashed"]["status"] == "failed" and runs["crashed"]["error"]["type"] == "MLflowRunFailed"
    assert runs["run-1"]["params"] == {"p0": "10", "p1": "11", "p2": "12"}
    assert runs["run-1"]["history"] == {"loss": 1500}  # the whole history, over two events
    data = runs["with-data"]
    assert data["job"] == "churn" and data["history"]["acc"] == 2 and data["metrics"]["acc"] == 0.75
    [(kind, name, role, meta)] = data["inputs"]
    assert (kind, name, role) == ("dataset", "churn", "training")
    assert meta["mlflow_dataset"]["source"] == "s3://bucket/churn.csv" and meta["mlflow_dataset"]["digest"]
    outputs = {role: (kind, digest, meta) for kind, _, role, digest, meta in data["outputs"]}
    assert outputs["notes.txt"][0] == "file" and "content" not in outputs["notes.txt"][2]  # hashed
    model = next(v for k, v in outputs.items() if k.startswith("models/"))
    assert model[0] == "model" and model[2]["mlflow_model"]["name"] == "model"
    # both registered versions are that model: one mlineage version; the alias is a plain event
    assert out["versions"] == [[1, model[1]]]
    assert out["aliases"] == [{"registry": "mlflow", "name": "churn-model", "alias": "champion",
                               "version": "2", "digest": model[1]}]


@pytest.mark.slow
def test_sqlite_store_read_from_its_tables_and_an_unsupported_schema_version(
        tmp_path: Path, request: pytest.FixtureRequest) -> None:
    cache = Path(str(request.config.cache.mkdir("mlflow-sqlite-rich")))  # MLflow's migrations are slow
    db = cache / "mlflow.db"
    if not db.is_file():
        _generate(f"sqlite:///{cache / 'partial.db'}", "--runs", "3", "--params", "2", "--values", "1200",
                  "--rich", "--artifacts", str(cache / "artifacts"), cwd=tmp_path)
        (cache / "partial.db").rename(db)
    out = _probe(f"sqlite:///{db}", f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "blobs")
    assert out["sql_and_client_agree"] is True  # the tables read directly give what MlflowClient gives
    assert out["first"]["imported"] == 6 and out["second"]["appended"] == 0  # 5 runs, 1 registered model
    runs = {r["context"]["mlflow"]["run_name"]: r for r in out["runs"]}
    assert runs["run-2"]["history"] == {"loss": 1200} and runs["run-2"]["params"] == {"p0": "20", "p1": "21"}
    assert runs["crashed"]["status"] == "failed"
    [(kind, name, role, meta)] = runs["with-data"]["inputs"]
    assert (kind, name, role, meta["mlflow_dataset"]["source"]) == ("dataset", "churn", "training",
                                                                   "s3://bucket/churn.csv")
    old = tmp_path / "old.db"
    shutil.copy(db, old)
    with sqlite3.connect(old) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'abc123old'")
    refused = _probe(f"sqlite:///{old}", f"sqlite:///{tmp_path / 'b.db'}", tmp_path / "blobs")
    assert f"sqlite:///{old}: MLflow store schema version abc123old is not supported" in refused["error"]


def test_mapping_is_pure_and_keeps_failed_runs_and_full_histories() -> None:
    run = RunRecord("r1", "0", "exp", "n", "FAILED", 1_700_000_000_000, 1_700_000_001_000, "ann", "active",
                    {"lr": "0.1"}, {"mlflow.user": "ann"},
                    {"loss": [(s, 1.0 / (s + 1), 1_700_000_000_000 + s) for s in range(2500)]
                     + [(2500, float("nan"), 1_700_000_003_000)]},
                    datasets=[{"name": "d", "digest": "abc", "source": "s3://b/d", "context": "eval"}],
                    artifacts=[ArtifactRecord("x.bin", None, None, identity="r1/x.bin")])
    skipped: list[str] = []
    events = map_run(run, skipped)
    assert [(e.id, e.payload) for e in events] == [(e.id, e.payload) for e in map_run(run)]  # deterministic
    types = [e.type for e in events]
    assert types.count("MetricsLogged") == 3 and types[-1] == "RunEnded"
    assert events[-1].payload["status"] == "failed" and len(skipped) == 1
    assert events[0].payload["started_at"] == "2023-11-14T22:13:20.000000Z"
    unread = next(e for e in events if e.type == "ArtifactRecorded" and e.payload["kind"] == "file")
    assert unread.payload["metadata"]["content"] == "not readable when imported"
    registered = map_registered_model("m", [ModelVersionRecord("m", "2", "s", "r1", None),
                                            ModelVersionRecord("m", "1", "s", "r1", None)], {"prod": "1"})
    assert [e.payload["metadata"]["mlflow_registry"]["version"] for e in registered[:2]] == ["1", "2"]
    assert registered[2].payload["alias"] == "prod" and registered[2].payload["digest"] == \
        registered[0].payload["digest"]
