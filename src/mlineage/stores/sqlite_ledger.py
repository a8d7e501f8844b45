"""Appending to a SQLite ledger through the ``sqlite3`` module alone.

Every tracked run and every ``mlineage add`` writes here, and SQLAlchemy's connection and transaction
machinery cost more than the SQL itself on such small batches (and importing it is a large share of a
CLI command's start-up). So the write path for SQLite files holds one plain ``sqlite3`` connection and runs
the same ``Projector`` as the SQLAlchemy path: one code path for what gets written, two ways to hold the
transaction.

The lock discipline is the engine's (``engine.py``): WAL, a long busy timeout, ``BEGIN IMMEDIATE`` so that
two processes never read the same head. Opening never migrates: when the schema is not at the revision this
code expects, ``open`` returns None and the caller goes through ``SqlStore``, which migrates.

WAL checkpoints run on a thread of their own. SQLite's default has the commit that takes the log past 1,000
pages copy it into the database and fsync both, in the writer's thread, so an occasional run's commit pays
for all the others' pages. This writer checkpoints (PASSIVE: it
never blocks a reader or a writer) on a background thread every ``CHECKPOINT_EVERY_APPENDS`` transactions,
or sooner once ``CHECKPOINT_EVERY_EVENTS`` events were appended (a bulk writer, an import, appends a few
large transactions: counted by transactions alone, its whole log would be copied when the store closes, in
the writer's thread), with SQLite's own checkpoint kept as a fallback at a much larger log.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from ..background import Background
from ..events import NewEvent, StoredEvent
from ..model import Artifact
from ..pipeline import checked
from .projector import Projector
from .revision import HEAD_REVISION
from .rows import ARTIFACT_SELECT, artifact_from_row

BUSY_TIMEOUT_MS = 60_000
CHECKPOINT_EVERY_APPENDS = 32
CHECKPOINT_EVERY_EVENTS = 1000
WRITER_AUTOCHECKPOINT_PAGES = 20_000  # SQLite's own, in the writer's thread, should the thread fall behind

_ARTIFACT_SQL = f"SELECT {ARTIFACT_SELECT} FROM artifacts WHERE digest = ?"
_HAS_CHILDREN_SQL = ("SELECT EXISTS (SELECT 1 FROM edges e WHERE e.parent IN (SELECT node_id FROM artifacts "
                     "WHERE digest = ?1 UNION ALL SELECT node_id FROM occurrences WHERE digest = ?1))")


def connect(path: str) -> sqlite3.Connection:
    """A connection tuned like the engine's: autocommit mode (we issue BEGIN), WAL, busy timeout."""
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA wal_autocheckpoint={WRITER_AUTOCHECKPOINT_PAGES}")
    return conn


class WalCheckpointer:
    """Copies what the write-ahead log holds into the database file without waiting for anyone (PASSIVE),
    from a connection kept for it: a new connection reads and parses the whole schema before its first
    statement, which costs more than the checkpoint itself and grows with every table a projection adds.
    One checkpoint at a time (the writer starts the next only when this one is done); ``close`` waits for
    one in progress."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            if self._conn is None:
                self._conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                             check_same_thread=False)
            # fetchall: the statement is done and holds no read snapshot once the checkpoint is
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _raise_if_damaged(exc: BaseException, path: str) -> None:
    from .damage import damage_of, damaged_store_error

    damage = damage_of(exc)
    if damage is not None:
        raise damaged_store_error(path, damage) from None


class SqliteLedger:
    """The ledger of one SQLite file, for appends and the lookups the write path needs."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._conn = connect(path)
        self._projector: Projector | None = None
        self._projected_upto = -1
        self._appends_since_checkpoint = 0
        self._events_since_checkpoint = 0
        self._checkpoint: Background[None] | None = None
        self._checkpointer = WalCheckpointer(path)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> SqliteLedger | None:
        """The ledger, or None when the file is missing or its schema is not the current revision."""
        if not Path(path).is_file():
            return None
        try:
            ledger = cls(str(path))
        except sqlite3.DatabaseError as exc:
            _raise_if_damaged(exc, str(path))
            raise
        try:
            row = ledger._conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError as exc:
            ledger.close()
            _raise_if_damaged(exc, str(path))
            row = None
        if row is None or row[0] != HEAD_REVISION:
            ledger.close()
            return None
        return ledger

    def close(self) -> None:
        self._conn.close()
        self._checkpointer.close()

    def _connection(self) -> sqlite3.Connection:
        # A connection must not cross fork(): a child opens its own (the parent's stays usable by the parent).
        if os.getpid() != self._pid:
            self._conn = connect(self.path)
            self._pid = os.getpid()
            self._projector = None
            self._checkpoint = None  # the parent's thread is not in this process
            self._checkpointer = WalCheckpointer(self.path)  # nor may its connection be used here
        return self._conn

    def append(self, new_events: Sequence[NewEvent]) -> list[StoredEvent]:
        """Chain and project a batch in one transaction (see ``SqlStore.append``)."""
        return self.append_checked(checked(new_events)) if new_events else []

    def append_checked(self, checked: Sequence[NewEvent]) -> list[StoredEvent]:
        with self._lock:
            try:
                try:
                    return self._append(checked, skip_known_ids=False)
                except sqlite3.IntegrityError as exc:
                    if "events.id" not in str(exc):
                        raise
                return self._append(
                    checked, skip_known_ids=True
                )  # a retried batch: drop what is already there
            except sqlite3.DatabaseError as exc:
                _raise_if_damaged(exc, self.path)
                raise

    def _append(self, checked: Sequence[NewEvent], skip_known_ids: bool) -> list[StoredEvent]:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            seq, head = conn.execute("SELECT seq, hash FROM ledger_head WHERE id = 1").fetchone()
            projector = self._projector_at(conn, int(seq))
            stored = projector.append_batch(checked, int(seq), str(head), skip_known_ids)
        except BaseException:
            self._drop_projector()
            conn.rollback()
            raise
        conn.commit()
        self._projected_upto = stored[-1].seq if stored else int(seq)
        self._appends_since_checkpoint += 1
        self._events_since_checkpoint += len(stored)
        if (self._appends_since_checkpoint >= CHECKPOINT_EVERY_APPENDS
                or self._events_since_checkpoint >= CHECKPOINT_EVERY_EVENTS) and (
                self._checkpoint is None or self._checkpoint.done()):
            self._appends_since_checkpoint = self._events_since_checkpoint = 0
            self._checkpoint = Background(self._checkpointer, "mlineage-checkpoint")
        return stored

    def _projector_at(self, conn: sqlite3.Connection, head_seq: int) -> Projector:
        """Keep the projector (and its caches) while this connection is the only writer: the head it left is
        the head we find. Anyone else's write moves the head, and a fresh projector reads what it needs."""
        projector = self._projector
        if (projector is None or head_seq != self._projected_upto or projector.oversized()
                or projector.stale()):
            self._drop_projector()
            projector = self._projector = Projector(conn, postgres=False)
        return projector

    def _drop_projector(self) -> None:
        if self._projector is not None:
            self._projector.close()
            self._projector = None

    def forget(self) -> None:
        """Drop the cached projection state (after the projections were rebuilt)."""
        with self._lock:
            self._drop_projector()

    def has_children(self, digest: str) -> bool:
        with self._lock:
            return bool(self._connection().execute(_HAS_CHILDREN_SQL, (digest,)).fetchone()[0])

    def get_artifact(self, digest: str) -> Artifact | None:
        with self._lock:
            row = self._connection().execute(_ARTIFACT_SQL, (digest,)).fetchone()
        return None if row is None else artifact_from_row(row)
