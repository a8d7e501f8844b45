"""The SQLite writer checkpoints its write-ahead log on a thread of its own, not in the commit that crosses
SQLite's threshold."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

import mlineage
from mlineage.events import RUN_STARTED, NewEvent
from mlineage.sdk.client import Client
from mlineage.stores import sqlite_ledger

WAIT_S = 30.0  # a correctness wait for the background thread, not a timing


def _runs_in_database_file(path: Path) -> int:
    """Runs the main database file holds, ignoring the write-ahead log (``immutable=1`` reads the file alone):
    what has been checkpointed."""
    conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
    except sqlite3.OperationalError:  # the schema itself is still only in the log
        return 0
    finally:
        conn.close()


def test_the_log_is_checkpointed_in_the_background(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_ledger, "CHECKPOINT_EVERY_APPENDS", 3)
    calls: list[str] = []
    connections: list[object] = []
    original = sqlite_ledger.WalCheckpointer.__call__

    def recording(self: sqlite_ledger.WalCheckpointer) -> None:
        calls.append(self.path)
        original(self)
        connections.append(self._conn)

    monkeypatch.setattr(sqlite_ledger.WalCheckpointer, "__call__", recording)
    database = tmp_path / "store.db"
    client = Client.for_uri(f"sqlite:///{database}", tmp_path / "objects")
    try:
        ledger = client.store._ledger  # type: ignore[attr-defined]
        writer = ledger._connection()
        assert (
            writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
            == sqlite_ledger.WRITER_AUTOCHECKPOINT_PAGES
        )
        before = _runs_in_database_file(database)
        for i in range(3):  # one append per run (its start is buffered): the third starts a checkpoint
            with mlineage.run(f"job{i}", client=client, capture=False):
                pass
        assert calls == [str(database)]
        ledger._checkpoint.result()
        assert _runs_in_database_file(database) == before + 3
        for i in range(3):
            with mlineage.run(f"more{i}", client=client, capture=False):
                pass
        deadline = time.monotonic() + WAIT_S
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        ledger._checkpoint.result()
        assert _runs_in_database_file(database) == before + 6
        # one connection for every checkpoint (a new one would parse the whole schema each time)
        assert len(connections) == 2 and connections[0] is connections[1] is not None
        assert client.verify().ok
    finally:
        client.close()
    assert ledger._checkpointer._conn is None  # closed with the store


def test_a_large_batch_starts_a_checkpoint_without_waiting_for_more_appends(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bulk writer (an import) appends a few large transactions: the events they hold start a checkpoint,
    so the log is not left for the store's close to copy in the writer's thread."""
    monkeypatch.setattr(sqlite_ledger, "CHECKPOINT_EVERY_APPENDS", 1_000_000)
    monkeypatch.setattr(sqlite_ledger, "CHECKPOINT_EVERY_EVENTS", 5)
    database = tmp_path / "store.db"
    client = Client.for_uri(f"sqlite:///{database}", tmp_path / "objects")
    try:
        ledger = client.store._ledger  # type: ignore[attr-defined]
        before = _runs_in_database_file(database)
        client.append([NewEvent(RUN_STARTED, {"run_id": f"bulk-{i}", "job": "import"}) for i in range(2)])
        assert ledger._checkpoint is None  # two events: below the threshold
        client.append([NewEvent(RUN_STARTED, {"run_id": f"bulk-{i}", "job": "import"}) for i in range(2, 5)])
        assert ledger._checkpoint is not None  # five in all since the last checkpoint
        ledger._checkpoint.result()
        assert _runs_in_database_file(database) == before + 5
        assert ledger._events_since_checkpoint == 0
    finally:
        client.close()
