"""The namespace index: which namespace each created key (run id, artifact digest, a feature's key) is in.

The server tags every event it appends with the writer's namespace in the hash-chained ``actor`` field,
``"<client actor> via <token> [ns:<namespace>]"``; events without a tag (appended straight into the database,
by a local CLI) belong to ``default``. A key belongs to every namespace that created it (two teams may record
the same bytes). The server reads this index to decide what a token may see (``server/namespaces.py``).

Only a database a server reads keeps the index: a local store has one namespace, and indexing every run and
artifact it creates would cost each tracked run inserts into two more B-trees for nothing. The first reader
of the index (``maintain``, called when a server opens the database) builds it from the ledger and records
in ``server_state`` that it is kept, in one transaction under the ledger lock; from then on every writer
of that database (the server, a local CLI, a script writing straight into it) indexes what it appends, in
the same transaction, and ``rebuild`` and ``verify --projections`` replay it. Until then the projection
writes nothing, and its table is not compared by ``verify --projections``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ...catalogue import SPECS, EventSpec, no_keys
from ...events import StoredEvent
from .base import Handler, Projection

DEFAULT_NAMESPACE = "default"
MAINTAINED_KEY = "namespace_index"  # the server_state row that says the index is kept
_TAG = re.compile(r"\[ns:([^\]]+)\]$")
_MAINTAINED_SQL = f"SELECT 1 FROM server_state WHERE key = '{MAINTAINED_KEY}'"


def namespace_of(actor: str | None) -> str:
    """The namespace an event was written in, from its actor tag."""
    match = _TAG.search(actor or "")
    return match.group(1) if match else DEFAULT_NAMESPACE


class NamespacesProjection(Projection):
    """Owns ``server_namespace_objects``; folds every event type whose spec creates keys, in a database whose
    index is kept (see the module's docstring)."""

    name = "namespaces"
    tables = ("server_namespace_objects",)
    follows_all = True

    def __init__(self, writer: Any) -> None:
        super().__init__(writer)
        self._seen: set[tuple[str, str]] = set()
        conflict = "ON CONFLICT DO NOTHING" if writer.postgres else ""
        verb = "INSERT" if writer.postgres else "INSERT OR IGNORE"
        self._insert = (f"{verb} INTO server_namespace_objects (namespace, key, seq) "
                        f"VALUES (:ns, :key, :seq) {conflict}")
        self.active = self._maintained()

    def _maintained(self) -> bool:
        return self.writer.one(_MAINTAINED_SQL, {}) is not None

    def start_batch(self) -> None:
        # Once kept, always kept (nothing turns it off), so only a writer that has not seen it on asks again:
        # a server may have turned it on since this writer last looked.
        if not self.active and self._maintained():
            self.active = True
            self.writer.redispatch()  # the handlers this writer looked up while it was not kept are none

    def handler(self, spec: EventSpec) -> Handler | None:
        if spec.creates is no_keys or not self.active:  # not kept: no call per event at all
            return None
        creates = spec.creates

        def index(e: StoredEvent, p: dict[str, Any]) -> None:
            if not self.active:
                return
            namespace = namespace_of(e.actor)
            for key in creates(p):
                if (namespace, key) not in self._seen:
                    self.writer.execute(self._insert, {"ns": namespace, "key": key, "seq": e.seq})
                    self._seen.add((namespace, key))

        return index

    def cached(self) -> int:
        return len(self._seen)


def maintain(engine: Any) -> bool:
    """Keep the namespace index of this database from now on, building it from the ledger if it was not
    kept yet (True then). Takes the ledger lock, so no append can fall between the build and the switch."""
    from ..projector import Projector

    with engine.connect().execution_options(mlineage_write=True) as conn, conn.begin():
        postgres = conn.dialect.name == "postgresql"
        conn.exec_driver_sql("SELECT seq FROM ledger_head WHERE id = 1" + (" FOR UPDATE" if postgres else ""))
        if conn.exec_driver_sql(_MAINTAINED_SQL).first() is not None:
            return False
        conn.exec_driver_sql("DELETE FROM server_namespace_objects")  # whatever an earlier writer left
        dbapi = conn.connection.dbapi_connection
        projector = Projector(dbapi, postgres)
        try:
            projection = projector.projection(NamespacesProjection.name)
            projection.active = True
            handlers: dict[str, Handler | None] = {}
            reader = dbapi.cursor()
            mark = "%s" if postgres else "?"
            last = 0
            while True:
                reader.execute(f"SELECT seq, id, type, v, ts, actor, payload FROM events WHERE seq > {mark} "
                               "AND payload IS NOT NULL ORDER BY seq LIMIT 5000", (last,))
                rows = reader.fetchall()
                if not rows:
                    break
                for seq, id_, type_, v, ts, actor, payload in rows:
                    if type_ not in handlers:
                        spec = SPECS.get(type_)
                        handlers[type_] = projection.handler(spec) if spec is not None else None
                    handler = handlers[type_]
                    if handler is not None:
                        body = json.loads(payload)
                        handler(StoredEvent(seq, id_, type_, v, ts, actor, body, "", "", ""), body)
                last = rows[-1][0]
            reader.close()
        finally:
            projector.close()
        conn.exec_driver_sql(f"INSERT INTO server_state (key, value) VALUES ('{MAINTAINED_KEY}', '1')")
    return True
