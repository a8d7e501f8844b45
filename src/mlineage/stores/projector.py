"""Applies ledger events to the projection tables, inside the writer's transaction.

The ``Projector`` holds the writer's transaction and dispatches each event to the registered projections
(``stores/projections``) that its spec names (``catalogue.py``). The same code path serves live appends and
``rebuild``, which is what makes the two produce identical tables. Checks that need the current graph
(unknown run, unknown artifact, a cycle, a run ended twice) raise in the handlers, and the caller's
transaction rolls the whole batch back.

This is the hot path of every write, so it talks to the DB-API cursor directly with SQL written once per
dialect (SQLAlchemy's statement construction costs several times more per event), looks the handlers of an
event type up in one dict, and keeps the projections (and their caches of runs and artifacts) for as long as
it lives (it holds the ledger lock, so nobody else can change them meanwhile).
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Sequence
from typing import Any

from ..catalogue import SPECS, EventSpec, generation
from ..errors import LedgerError
from ..events import NewEvent, StoredEvent, utc_now
from ..ledger import SealedEvent, seal
from .idempotency import new_only
from .projections import PROJECTIONS, Handler, Projection


@functools.lru_cache(maxsize=128)
def _for_dialect(sql: str, postgres: bool) -> str:
    """Statements are written with ``:name`` parameters (sqlite3's style); psycopg wants ``%(name)s``."""
    return re.sub(r":([a-z_][a-z_0-9]*)", r"%(\1)s", sql) if postgres else sql


class Projector:
    """Takes the driver's connection (sqlite3 or psycopg), already inside the writer's transaction; it never
    commits: the caller does, so a rejected batch leaves nothing behind.

    Its caches (runs, artifacts, the next node id, which nodes it created and linked) describe the database as
    this projector left it. They are valid for as long as nobody else writes: within one transaction always,
    and across transactions when the caller sees that the ledger head is still where this projector put it
    (``SqliteLedger`` does that). After a rollback the projector must be thrown away."""

    MAX_CACHED = 100_000  # entries per cache before a caller should start a fresh projector

    def __init__(self, dbapi: Any, postgres: bool) -> None:
        self._dbapi = dbapi
        self.cursor = dbapi.cursor()  # writes
        self.reader = dbapi.cursor()  # reads get their own cursor: in pipeline mode results are per cursor
        self.postgres = postgres
        self._generation = generation()
        self.projections: dict[str, Projection] = {name: cls(self) for name, cls in PROJECTIONS.items()}
        self._handlers: dict[str, tuple[Handler, ...]] = {}
        self._starters = tuple(p.start_batch for p in self.projections.values()
                               if type(p).start_batch is not Projection.start_batch)
        self._caching = tuple(p for p in self.projections.values() if type(p).cached is not Projection.cached)

    def projection(self, name: str) -> Any:
        """A projection of this writer by name (projections use each other's nodes, runs and artifacts)."""
        return self.projections[name]

    def redispatch(self) -> None:
        """Look the handlers up again at the next event (a projection's ``handler`` answers differently now:
        the namespace index became kept)."""
        self._handlers.clear()

    def _dispatch(self, event_type: str) -> tuple[Handler, ...]:
        """The handlers of an event type, in the order its spec names them (then the projections that follow
        every spec), looked up once per writer."""
        spec = SPECS.get(event_type)
        if spec is None:
            raise LedgerError(f"events of unknown type {event_type!r} cannot be projected: load the module "
                              "that registers it")
        found = self._handlers[event_type] = tuple(self._bind(spec))
        return found

    def _bind(self, spec: EventSpec) -> list[Handler]:
        bound = []
        for name in spec.projections:
            projection = self.projections.get(name)
            handler = projection.handler(spec) if projection is not None else None
            if handler is None:
                raise LedgerError(
                    f"event type {spec.name!r} names projection {name!r}, which is not registered "
                    "or has no handler for it: load the module that registers it"
                )
            bound.append(handler)
        for projection in self.projections.values():
            if projection.follows_all and projection.name not in spec.projections:
                handler = projection.handler(spec)
                if handler is not None:
                    bound.append(handler)
        return bound

    def close(self) -> None:
        """Close both cursors now rather than when the garbage collector finds them: a writer that drops a
        projector (after a failed transaction, or to start afresh) goes on using the same connection."""
        for cursor in (self.cursor, self.reader):
            with contextlib.suppress(Exception):
                cursor.close()

    def pipelined(self) -> contextlib.AbstractContextManager[Any]:
        """On PostgreSQL, send statements without waiting for each reply (psycopg's pipeline mode): only
        the SELECTs whose answer the projector needs wait for the server, and any error still surfaces
        before the transaction commits. SQLite is in-process and needs nothing of the kind."""
        if self.postgres:
            return self._dbapi.pipeline()  # type: ignore[no-any-return]
        return contextlib.nullcontext()

    # ------------------------------------------------------------ the ledger rows

    def existing_events(self, ids: list[str]) -> dict[str, tuple[str, int, str, str | None]]:
        """The recorded (type, v, payload_sha256, payload) of those ids already in the ledger."""
        found: dict[str, tuple[str, int, str, str | None]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            params = {f"i{n}": value for n, value in enumerate(chunk)}
            marks = ", ".join(f":i{n}" for n in range(len(chunk)))
            self.reader.execute(
                _for_dialect(
                    f"SELECT id, type, v, payload_sha256, payload FROM events WHERE id IN ({marks})",
                    self.postgres,
                ),
                params,
            )
            found.update((row[0], (row[1], int(row[2]), row[3], row[4])) for row in self.reader.fetchall())
        return found

    def insert_events(self, sealed: Sequence[SealedEvent]) -> None:
        recorded = utc_now()  # the store's time, not the writer's claim: what --as-of orders by
        self.cursor.executemany(
            _for_dialect(
                "INSERT INTO events (seq, id, type, v, ts, actor, payload, payload_sha256, prev_hash, hash, "
                "recorded_at) VALUES (:seq, :id, :type, :v, :ts, :actor, :payload, :psha, :prev, :hash, "
                ":recorded)",
                self.postgres,
            ),
            [
                {
                    "seq": s.event.seq,
                    "id": s.event.id,
                    "type": s.event.type,
                    "v": s.event.v,
                    "ts": s.event.ts,
                    "actor": s.event.actor,
                    "payload": s.payload_json,
                    "psha": s.event.payload_sha256,
                    "prev": s.event.prev_hash,
                    "hash": s.event.hash,
                    "recorded": recorded,
                }
                for s in sealed
            ],
        )

    def move_head(self, seq: int, digest: str) -> None:
        self.execute(
            "UPDATE ledger_head SET seq = :seq, hash = :hash WHERE id = 1", {"seq": seq, "hash": digest}
        )

    def append_batch(self, checked: Sequence[NewEvent], head_seq: int, head_hash: str,
                     skip_known_ids: bool = True) -> list[StoredEvent]:
        """Chain and project validated events after the current head (the caller holds the ledger lock).
        Events whose id is already in the ledger are skipped, so a retried batch never duplicates anything.
        (``skip_known_ids=False`` leaves that to the unique index on events.id: a caller that expects fresh
        ids saves the look-up and retries with it when the index says no.)"""
        if skip_known_ids:
            seen = self.existing_events([e.id for e in checked])
            if seen:
                checked = new_only(checked, seen)  # a known id with other content refuses the batch
                if not checked:
                    return []
        for start in self._starters:
            start()
        sealed = seal(checked, head_seq, head_hash)
        with self.pipelined():
            self.insert_events(sealed)
            for item in sealed:
                self.apply(item.event)
            self.move_head(sealed[-1].event.seq, sealed[-1].event.hash)
        return [s.event for s in sealed]

    def oversized(self) -> bool:
        for projection in self._caching:  # asked before every batch: only the projections that cache
            if projection.cached() > self.MAX_CACHED:
                return True
        return False

    def stale(self) -> bool:
        """Whether an event type or a projection was registered or removed since this writer was made (its
        projections and dispatch table would then be out of date)."""
        return self._generation != generation()

    # ------------------------------------------------------------ projections

    def apply(self, event: StoredEvent) -> None:
        if event.payload is None:  # an erased payload projects nothing
            return
        handlers = self._handlers.get(event.type)
        if handlers is None:
            handlers = self._dispatch(event.type)
        for handler in handlers:
            handler(event, event.payload)

    # ------------------------------------------------------------ statements for the projections

    def execute(self, sql: str, params: dict[str, Any]) -> Any:
        self.cursor.execute(_for_dialect(sql, self.postgres), params)
        return self.cursor

    def one(self, sql: str, params: dict[str, Any]) -> Any:
        self.reader.execute(_for_dialect(sql, self.postgres), params)
        return self.reader.fetchone()
