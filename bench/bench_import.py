"""Importing an MLflow store: ``mlineage import mlflow`` against MLflow's own ``search_runs`` reading the
same store, in the same run.

The store is written once per size by MLflow itself (``bench/mlflow_store.py``, SQLite) into
``bench/.work/import/`` and reused. Full mode: 10,000 runs x 10 params x 100 metric values (one metric's
history); ``MLINEAGE_BENCH_QUICK=1``: 500 runs. ``MLINEAGE_BENCH_IMPORT_RUNS`` overrides the size. The peer
reads every run page by page (params, latest metrics, tags); the import reads the same pages plus each
run's metric history, and appends everything to a fresh SQLite ledger. Goal: import <= 2x MLflow's read.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from .harness import REPO, Result, best_of, workdir

GOAL = 2.0


def _store(runs: int) -> Path:
    folder = workdir("import")
    db = folder / f"mlflow-{runs}.db"
    if not db.is_file():
        tmp = folder / f"mlflow-{runs}.partial.db"
        tmp.unlink(missing_ok=True)
        subprocess.run([sys.executable, str(REPO / "bench" / "mlflow_store.py"), f"sqlite:///{tmp}", "--runs",
                        str(runs), "--params", "10", "--values", "100",
                        "--artifacts", str(folder / "artifacts")],
                       check=True, capture_output=True)
        tmp.rename(db)
    return db


def _mlflow_read(uri: str) -> int:
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    count, token = 0, None
    while True:
        page = client.search_runs(ids, run_view_type=ViewType.ALL, max_results=1000, page_token=token)
        count += len(page)
        token = page.token
        if not token:
            return count


def _import(uri: str, ledger: Path) -> int:
    from mlineage.sdk.client import Client

    for suffix in ("", "-wal", "-shm"):
        Path(f"{ledger}{suffix}").unlink(missing_ok=True)
    client = Client.for_uri(f"sqlite:///{ledger}", ledger.parent / "blobs")
    try:
        report = client.import_mlflow(uri)
    finally:
        client.close()
    return report.imported


def _timed(fn: Callable[[], int]) -> float:
    started = time.perf_counter()
    imported = fn()
    elapsed = time.perf_counter() - started
    assert imported > 0
    return elapsed


def run(quick: bool) -> list[Result]:
    warnings.simplefilter("ignore")
    runs = int(os.environ.get("MLINEAGE_BENCH_IMPORT_RUNS") or (500 if quick else 10_000))
    db = _store(runs)
    uri = f"sqlite:///{db}"
    read = _mlflow_read(uri)  # warm: imports, the schema check, the page cache
    peer = best_of(lambda: _mlflow_read(uri), 3)
    ours = min(_timed(lambda: _import(uri, workdir("import") / "ledger.db")) for _ in range(2))
    assert read == runs, (read, runs)
    import mlflow

    return [Result(f"import mlflow, {runs:,} runs x 10 params x 100 values", ours,
                   f"MLflow {mlflow.__version__} search_runs", peer, "s", False,
                   f"<= {GOAL:g}x MLflow's read", ours <= GOAL * peer)]
