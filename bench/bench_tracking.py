"""Foundation benchmarks: per-run tracking cost vs MLflow, batched ledger ingestion, CLI start-up.

Per run (both tools, same machine, same run of this script): 10 params, 20 metric values logged one call
at a time, 2 inputs, 1 small output file. Input hashing is excluded (inputs are referenced by an existing
digest for mlineage, by a tag for MLflow); the output is stored by both (mlineage: content-addressed blob
with fsync; MLflow: log_artifact copy).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .harness import Result, best_of, workdir


def _mlineage_runs(root: Path, runs: int) -> float:
    from mlineage import events as ev
    from mlineage.events import NewEvent
    from mlineage.sdk.client import Client
    from mlineage.sdk.run import ActiveRun

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    client = Client.for_uri(f"sqlite:///{root / 'store.db'}", root / "objects")
    inputs = [f"sha256:{i:064x}" for i in (1, 2)]
    client.append([NewEvent(ev.ARTIFACT_RECORDED, {"digest": d, "kind": "dataset"}) for d in inputs])
    output = root / "model.bin"
    params = {f"p{i}": i * 0.5 for i in range(10)}
    started = time.perf_counter()
    for r in range(runs):
        output.write_bytes(f"model {r}".encode())
        with ActiveRun("train", kind="train", params=params, client=client) as run:
            for d in inputs:
                run.use(d)
            for step in range(20):
                run.log_metric("loss", 1.0 / (step + 1), step=step)
            run.produce(output, kind="model")
    elapsed = time.perf_counter() - started
    assert client.store.verify().ok
    client.close()
    return elapsed / runs


def _mlflow_runs(root: Path, runs: int) -> float | None:
    try:
        import mlflow
    except ImportError:
        return None
    import logging

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    mlflow.set_experiment("bench")
    output = root / "model.bin"
    params = {f"p{i}": i * 0.5 for i in range(10)}
    with mlflow.start_run():  # warm-up: schema creation and first-run costs are not per-run costs
        pass
    started = time.perf_counter()
    for r in range(runs):
        output.write_bytes(f"model {r}".encode())
        with mlflow.start_run():
            mlflow.log_params(params)
            mlflow.set_tag("input.0", f"sha256:{1:064x}")
            mlflow.set_tag("input.1", f"sha256:{2:064x}")
            for step in range(20):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
            mlflow.log_artifact(str(output))
    return (time.perf_counter() - started) / runs


def _ingest_rate(root: Path, batches: int, batch_size: int) -> float:
    from mlineage import events as ev
    from mlineage.events import NewEvent
    from mlineage.stores.sql import SqlStore

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    store = SqlStore(f"sqlite:///{root / 'ingest.db'}")
    prepared = []
    n = 0
    for b in range(batches):
        batch = []
        while len(batch) < batch_size:
            run_id = f"r{n}"
            digest = f"sha256:{n + 1:064x}"
            batch += [
                NewEvent(ev.RUN_STARTED, {"run_id": run_id, "job": "ingest", "kind": "ingest"}),
                NewEvent(ev.ARTIFACT_RECORDED, {"digest": digest, "kind": "dataset", "size": n}),
                NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": run_id, "digest": digest}),
                NewEvent(ev.METRICS_LOGGED, {"run_id": run_id, "metrics": [{"key": "rows", "value": n}]}),
                NewEvent(ev.RUN_ENDED, {"run_id": run_id, "status": "completed"}),
            ]
            n += 1
        prepared.append(batch)
    total = sum(len(b) for b in prepared)
    started = time.perf_counter()
    for batch in prepared:
        store.append(batch)
    elapsed = time.perf_counter() - started
    assert store.verify().ok and store.head()[0] == total
    store.close()
    return total / elapsed


def _startup(argv: list[str]) -> float:
    env = dict(os.environ)
    return best_of(lambda: subprocess.run(argv, capture_output=True, env=env, check=True), repeat=7)


def run(quick: bool) -> list[Result]:
    runs = 30 if quick else 200
    work = workdir("tracking")
    ours = _mlineage_runs(work / "mlineage", runs) * 1000
    peer = _mlflow_runs(work / "mlflow", max(10, runs // 4))
    peer_ms = peer * 1000 if peer is not None else None
    results = [Result("per-run tracking cost (10 params, 20 metrics, 2 in, 1 out)", ours,
                      "MLflow (SQLite store)", peer_ms, "ms/run", False, ">= 50x cheaper than MLflow",
                      None if peer_ms is None else peer_ms / ours >= 50)]
    rate = _ingest_rate(work / "ingest", 5 if quick else 40, 1000)
    results.append(Result("batched ledger ingestion into SQLite (batches of 1000)", rate, "goal", 10_000,
                          "events/s", True, ">= 10,000 events/s", rate >= 10_000))
    bindir = Path(sys.executable).parent
    ours_start = _startup([str(bindir / "mlineage"), "--help"]) * 1000
    peer_cli = bindir / "mlflow"
    peer_start = _startup([str(peer_cli), "--version"]) * 1000 if peer_cli.exists() else None
    results.append(Result("CLI start-up: `mlineage --help` vs `mlflow --version`", ours_start,
                          "mlflow CLI", peer_start, "ms", False, "< 150 ms", ours_start < 150))
    python_start = _startup([sys.executable, "-c", "pass"]) * 1000
    results.append(Result("bare `python -c pass` (for reference)", python_start, "-", None, "ms", False, "-", None))
    return results
