"""Several processes writing one ledger at once: no lost event, no forked chain (SQLite file and
PostgreSQL)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from mlineage import events as ev
from mlineage.events import NewEvent
from mlineage.stores.sql import SqlStore

from ..conftest import drop_pg_schema, make_pg_schema_url

PROCESSES = 4
RUNS_EACH = 250


def _writer(uri: str, worker: int, runs: int) -> None:
    store = SqlStore(uri)
    digest = f"sha256:{worker + 1:064x}"
    store.append([NewEvent(ev.ARTIFACT_RECORDED, {"digest": digest, "kind": "dataset", "name": "shared"})])
    for i in range(runs):
        run_id = f"w{worker}-r{i}"
        store.append([NewEvent(ev.RUN_STARTED, {"run_id": run_id, "job": f"job{worker}", "kind": "train"}),
                      NewEvent(ev.ARTIFACT_USED, {"run_id": run_id, "digest": digest})])
        store.append([NewEvent(ev.METRICS_LOGGED, {"run_id": run_id, "metrics": [{"key": "i", "value": i}]}),
                      NewEvent(ev.RUN_ENDED, {"run_id": run_id, "status": "completed"})])
    store.close()


def _hammer(uri: str) -> None:
    SqlStore(uri).close()  # migrate once up front; the writers also race on opening
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(uri, w, RUNS_EACH)) for w in range(PROCESSES)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=600)
        assert p.exitcode == 0, f"writer exited with {p.exitcode}"
    store = SqlStore(uri)
    try:
        runs = store.list_runs(limit=10_000)
        assert len(runs) == PROCESSES * RUNS_EACH
        assert all(r.status.value == "completed" for r in runs)
        expected_events = PROCESSES * (1 + RUNS_EACH * 4)
        assert store.head()[0] == expected_events
        report = store.verify()
        assert report.ok and report.count == expected_events
        assert store.get_version("shared").version == PROCESSES  # type: ignore[union-attr]
        live = store.projection_snapshot()
        store.rebuild()
        assert store.projection_snapshot() == live
    finally:
        store.close()


@pytest.mark.slow
def test_concurrent_writers_sqlite(tmp_path: Path) -> None:
    _hammer(f"sqlite:///{tmp_path / 'shared.db'}")


@pytest.mark.slow
def test_concurrent_writers_postgresql(pg_admin_url: str) -> None:
    url, schema = make_pg_schema_url(pg_admin_url)
    try:
        _hammer(url)
    finally:
        drop_pg_schema(pg_admin_url, schema)
