"""Upgrading a store from revision 0004 moves every metric value from a row per value into a row per
(run, key, event), and the histories read back the same."""

from __future__ import annotations

from sqlalchemy import inspect, text

from mlineage.stores import migrate
from mlineage.stores.sql import SqlStore

from .old_revision import at_revision

# run_id, key, step, value, ts, seq -- inserted out of order, as concurrent runs would leave them
_OLD_ROWS = [
    ("r1", "loss", 2, 0.25, "2026-12-03T10:00:02.000000Z", 7),
    ("r1", "loss", 0, 1.0, "2026-12-03T10:00:00.000000Z", 7),
    ("r2", "loss", 0, 9.5, "2026-12-03T10:00:00.500000Z", 8),
    ("r1", "acc", 0, 0.5, "2026-12-03T10:00:00.000000Z", 7),
    ("r1", "loss", 1, 0.5, "2026-12-03T10:00:01.000000Z", 7),
    ("r1", "loss", 3, 0.125, "2026-12-03T10:00:03.000000Z", 9),
]


def test_upgrade_from_0004_keeps_every_metric_value(store_uri: str) -> None:
    with at_revision(store_uri, "0004") as conn:
        conn.execute(text("INSERT INTO metrics (run_id, key, step, value, ts, seq) "
                          "VALUES (:r, :k, :s, :v, :t, :q)"),
                     [{"r": r, "k": k, "s": s, "v": v, "t": t, "q": q} for r, k, s, v, t, q in _OLD_ROWS])

    store = SqlStore(store_uri)  # migrates to head
    try:
        assert migrate.current_revision(store.engine) == migrate.HEAD_REVISION
        assert "metrics" not in inspect(store.engine).get_table_names()
        assert store.metric_history("r1", "loss") == [
            (0, 1.0, "2026-12-03T10:00:00.000000Z"), (1, 0.5, "2026-12-03T10:00:01.000000Z"),
            (2, 0.25, "2026-12-03T10:00:02.000000Z"), (3, 0.125, "2026-12-03T10:00:03.000000Z")]
        assert store.metric_history("r1", "acc") == [(0, 0.5, "2026-12-03T10:00:00.000000Z")]
        assert store.metric_history("r2", "loss") == [(0, 9.5, "2026-12-03T10:00:00.500000Z")]
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM metric_batches")).scalar() == 4
    finally:
        store.close()
