"""The accepted-event queue and the worker that projects it into the graph asynchronously.

``POST /api/v1/lineage`` validates an OpenLineage event against the official schema, then stores it in
``server_inbox`` (idempotent: the event's canonical digest is its id) and answers at once. A worker thread
takes pending rows in arrival order, maps each to core events (``interop.openlineage``) using the current
graph, appends them through the Client (the append pipeline) and marks the row done — or failed, with the
reason, if the mapped events are refused (a cycle, say). The mapped events' ids derive from the inbox id, so a
row replayed after a crash between append and mark is skipped by the ledger: nothing is applied twice. Native
mlineage events can take the same path (``POST /api/v1/events/batch?wait=false``): consecutive queued events
are appended as one ledger batch. Every server process runs a worker thread, but only the one holding the
database's ingestion lock projects (in arrival order); the others take over if it stops.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select, text, update

from ..errors import MlineageError
from ..events import NewEvent, utc_now
from ..interop import openlineage as ol
from ..sdk.client import Client
from ..stores.schema import server_inbox
from .auth import Principal, write_transaction
from .namespaces import NamespaceIndex, tag_actor

log = logging.getLogger("mlineage.server")


class Inbox:
    def __init__(self, client: Client, index: NamespaceIndex) -> None:
        self.client = client
        self.index = index
        self.engine: Engine = client.store.engine  # type: ignore[attr-defined]
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def accept(self, doc: dict[str, Any], principal: Principal) -> tuple[str, bool]:
        """Queue a validated OpenLineage event; return (its id, whether it was new)."""
        event_id = ol.event_id(doc)
        row = {
            "event_id": event_id,
            "format": "openlineage",
            "namespace": principal.write_namespace,
            "actor": tag_actor(doc.get("producer"), principal),
            "body": json.dumps(doc, ensure_ascii=False),
            "received_at": utc_now(),
            "status": "pending",
            "error": None,
            "processed_at": None,
        }
        with write_transaction(self.engine) as conn:
            if conn.execute(select(server_inbox.c.id).where(server_inbox.c.event_id == event_id)).first():
                return event_id, False
            conn.execute(insert(server_inbox).values(**row))
        self._wake.set()
        return event_id, True

    def accept_native(self, events: list[NewEvent], namespace: str) -> tuple[int, int]:
        """Queue validated mlineage events (``?wait=false``); return (queued, already queued)."""
        now = utc_now()
        rows = [
            {
                "event_id": e.id,
                "format": "mlineage",
                "namespace": namespace,
                "actor": e.actor,
                "body": json.dumps(
                    {"id": e.id, "type": e.type, "payload": e.payload, "ts": e.ts, "v": e.v},
                    ensure_ascii=False,
                    separators=(",", ":"),
                ),
                "received_at": now,
                "status": "pending",
                "error": None,
                "processed_at": None,
            }
            for e in events
        ]
        unique = list({r["event_id"]: r for r in rows}.values())
        with write_transaction(self.engine) as conn:
            seen: set[str] = set()
            ids = [r["event_id"] for r in unique]
            for start in range(0, len(ids), 500):
                seen.update(
                    conn.execute(
                        select(server_inbox.c.event_id).where(
                            server_inbox.c.event_id.in_(ids[start : start + 500])
                        )
                    ).scalars()
                )
            fresh = [r for r in unique if r["event_id"] not in seen]
            if fresh:
                conn.execute(insert(server_inbox), fresh)
        self._wake.set()
        return len(fresh), len(rows) - len(fresh)

    # ------------------------------------------------------------ the worker

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="mlineage-ingest", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        with self._leadership() as leading:
            while not self._stop.is_set():
                if not leading():
                    self._stop.wait(1.0)  # another server process projects; take over if it goes away
                    continue
                try:
                    done = self.drain(max_rows=1000)
                except Exception:  # keep the worker alive; the row stays pending and is retried
                    log.exception("ingestion worker failed; retrying in 1 s")
                    done = 0
                    self._stop.wait(1.0)
                if done == 0:
                    self._wake.wait(0.5)
                    self._wake.clear()

    @contextlib.contextmanager
    def _leadership(self) -> Iterator[Callable[[], bool]]:
        """One projecting worker per store, whatever the number of server processes: a session advisory
        lock on PostgreSQL keyed by the store's schema (servers on other schemas of the same database have
        their own workers), a file lock next to the SQLite file. ``leading()`` tries to take it when free."""
        if self.engine.dialect.name == "postgresql":
            conn = self.engine.connect()
            held = False

            def leading_pg() -> bool:
                nonlocal held
                if not held:
                    lock = "SELECT pg_try_advisory_lock(727272, hashtext(current_schema()))"
                    held = bool(conn.execute(text(lock)).scalar())
                    conn.commit()
                return held

            try:
                yield leading_pg
            finally:
                conn.close()  # ends the session, which releases the lock
            return
        database = self.engine.url.database
        if not database or database == ":memory:":
            yield lambda: True
            return
        handle = open(f"{database}.inbox-lock", "a+b")  # noqa: SIM115 - held for the worker's lifetime
        held_file = False

        def leading_file() -> bool:
            nonlocal held_file
            if not held_file:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    held_file = True
                except BlockingIOError:
                    return False
            return True

        try:
            yield leading_file
        finally:
            handle.close()

    def drain(self, max_rows: int = 200) -> int:
        """Project up to max_rows pending events; return how many were handled."""
        with self._lock:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(server_inbox).where(server_inbox.c.status == "pending").order_by(server_inbox.c.id)
                    .limit(max_rows)
                ).all()
            group: list[Any] = []
            for row in rows:
                if row.format == "mlineage":
                    group.append(row)
                    continue
                self._project_native(group)
                group = []
                self._project(row)
            self._project_native(group)
            return len(rows)

    def _project_native(self, rows: list[Any]) -> None:
        """Append a run of queued mlineage events as one ledger batch; on refusal, isolate the bad ones."""
        if not rows:
            return
        def event(row: Any) -> NewEvent:
            body = json.loads(row.body)
            return NewEvent(body["type"], body["payload"], body["id"], body["ts"], row.actor, body["v"])

        try:
            self.client.append([event(r) for r in rows])
            failures: dict[int, str] = {}
        except MlineageError:
            failures = {}
            for row in rows:
                try:
                    self.client.append([event(row)])
                except MlineageError as exc:
                    failures[row.id] = str(exc)[:2000]
        now = utc_now()
        with write_transaction(self.engine) as conn:
            ok = [r.id for r in rows if r.id not in failures]
            for start in range(0, len(ok), 500):
                conn.execute(update(server_inbox).where(server_inbox.c.id.in_(ok[start:start + 500]))
                             .values(status="done", processed_at=now))
            for row_id, error in failures.items():
                conn.execute(update(server_inbox).where(server_inbox.c.id == row_id)
                             .values(status="failed", error=error, processed_at=now))

    def _project(self, row: Any) -> None:
        doc = json.loads(row.body)
        status, error = "done", None
        try:
            mapped = ol.to_core_events(doc, ol.StoreGraphState(self.client.store), f"inbox:{row.event_id}")
            tagged = [NewEvent(e.type, e.payload, e.id, e.ts, row.actor, e.v) for e in mapped]
            self.client.append(tagged)
        except MlineageError as exc:
            status, error = "failed", str(exc)[:2000]
            log.warning("OpenLineage event %s could not be projected: %s", row.event_id, exc)
        with write_transaction(self.engine) as conn:
            conn.execute(update(server_inbox).where(server_inbox.c.id == row.id)
                         .values(status=status, error=error, processed_at=utc_now()))

    def lag(self, namespace: str | None) -> dict[str, Any]:
        """Ingestion lag: what is still queued, how old the oldest is, and what failed."""
        with self.engine.connect() as conn:
            def count(status: str) -> int:
                q = select(func.count()).select_from(server_inbox).where(server_inbox.c.status == status)
                if namespace is not None:
                    q = q.where(server_inbox.c.namespace == namespace)
                return int(conn.execute(q).scalar_one())

            oldest_q = select(func.min(server_inbox.c.received_at)).where(server_inbox.c.status == "pending")
            failed_q = (
                select(server_inbox.c.event_id, server_inbox.c.error)
                .where(server_inbox.c.status == "failed")
                .order_by(server_inbox.c.id.desc())
                .limit(10)
            )
            if namespace is not None:
                oldest_q = oldest_q.where(server_inbox.c.namespace == namespace)
                failed_q = failed_q.where(server_inbox.c.namespace == namespace)
            oldest = conn.execute(oldest_q).scalar()
            pending, done, failed = count("pending"), count("done"), count("failed")
            recent_failures = [{"event_id": r.event_id, "error": r.error} for r in conn.execute(failed_q)]
        lag_s = 0.0
        if oldest:
            started = datetime.strptime(oldest, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
            lag_s = max(0.0, time.time() - started.timestamp())
        return {"pending": pending, "done": done, "failed": failed, "lag_seconds": round(lag_s, 3),
                "recent_failures": recent_failures}
