"""The SQL metadata store (SQLite and PostgreSQL through SQLAlchemy Core)."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, and_, func, select, text
from sqlalchemy.exc import DBAPIError, OperationalError

from ..errors import IntegrityError, StoreUnavailableError
from ..events import NewEvent, StoredEvent
from ..ledger import VerifyReport, verify_chain
from ..model import Artifact, NamedVersion, NodeKind, NodeRef, Run, RunKind, RunStatus
from ..pipeline import checked
from . import migrate
from .damage import damage_of, damaged_store_error
from .engine import make_engine
from .metric_codec import unpack
from .projections import projection_tables
from .projector import Projector
from .protocol import AdjacentEdge, Capabilities, Direction, GraphColumns
from .rows import ARTIFACT_COLUMNS, artifact_from_row
from .schema import (
    artifacts,
    edges,
    events,
    ledger_head,
    metadata,
    metric_batches,
    nodes,
    occurrences,
    runs,
    versions,
)
from .sqlite_ledger import SqliteLedger

_CHUNK = 900  # stays under SQLite's bound-parameter limit


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# the artifact columns in the order ``artifact_from_row`` reads them; a query adds its own columns after them
_ARTIFACT = tuple(artifacts.c[name] for name in ARTIFACT_COLUMNS)


def _run(row: Any) -> Run:
    return Run(
        id=row.id,
        job=row.job,
        kind=RunKind(row.kind),
        status=RunStatus(row.status),
        params=json.loads(row.params),
        metrics=json.loads(row.metrics),
        context=json.loads(row.context),
        agent=row.agent,
        error=json.loads(row.error) if row.error else None,
        started_at=row.started_at,
        ended_at=row.ended_at,
    )


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(
        seq=row.seq, id=row.id, type=row.type, v=row.v, ts=row.ts, actor=row.actor,
        payload=json.loads(row.payload) if row.payload is not None else None,
        payload_sha256=row.payload_sha256, prev_hash=row.prev_hash, hash=row.hash,
    )


def _create_feature_tables(engine: Any) -> None:
    """Tables of projections registered by feature modules (the core's come from the migrations)."""
    extra = [t for t in projection_tables() if t.metadata is not metadata]
    if extra:
        migrate.create_missing_tables(engine, extra)


class SqlStore:
    """One class for both dialects: the differences live in ``engine.py`` and the write lock below."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.engine = make_engine(uri)
        self.dialect = self.engine.dialect.name
        self.capabilities = Capabilities(dedicated_head=self.dialect == "postgresql")
        self.after_append: list[Callable[[], None]] = []  # told after each committed append (the server)
        database = self.engine.url.database if self.dialect == "sqlite" else None
        try:
            migrate.upgrade(self.engine)
            _create_feature_tables(self.engine)
            # SQLite files take the lean write path (plain sqlite3, same projector); in-memory databases and
            # PostgreSQL go through the engine.
            self._ledger = SqliteLedger.open(database) if database and database != ":memory:" else None
        except DBAPIError as exc:
            damage = damage_of(exc)
            if damage is not None:
                raise damaged_store_error(database or self._safe_uri(), damage) from None
            if not isinstance(exc, OperationalError):
                raise
            raise StoreUnavailableError(
                f"cannot open metadata store {self._safe_uri()}: {exc.orig}"
            ) from None

    def _safe_uri(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
        head_state = self.__dict__.get("_graph_head")  # graph_head's own PostgreSQL session, if it opened one
        if head_state and head_state["closer"] is not None and head_state["pid"] == os.getpid():
            head_state["closer"]()  # a weakref.finalize: closes the session once
        self.engine.dispose()

    # ------------------------------------------------------------------ writing

    @contextlib.contextmanager
    def _write(self) -> Iterator[tuple[Connection, int, str]]:
        """A write transaction holding the ledger lock, with the current head."""
        with self.engine.connect().execution_options(mlineage_write=True) as conn, conn.begin():
            lock = " FOR UPDATE" if self.dialect == "postgresql" else ""
            seq, digest = conn.exec_driver_sql(f"SELECT seq, hash FROM ledger_head WHERE id = 1{lock}").one()
            yield conn, int(seq), str(digest)

    def append(self, new_events: Sequence[NewEvent]) -> list[StoredEvent]:
        """Chain and project a batch atomically (validating it first unless the append pipeline prepared it).
        Events whose id is already in the ledger are skipped, so a retried batch never duplicates anything.

        Every tracked run goes through here several times, so the statements go to the DB-API cursor
        directly (see projector.py for why)."""
        if not new_events:
            return []
        batch = checked(new_events)
        if self._ledger is not None:
            stored = self._ledger.append_checked(batch)
        else:
            with self._write() as (conn, head_seq, head_hash):
                stored = self._projector(conn).append_batch(batch, head_seq, head_hash)
        for tell in self.after_append:
            tell()
        return stored

    def _projector(self, conn: Connection) -> Projector:
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        return Projector(dbapi, self.dialect == "postgresql")

    # ------------------------------------------------------------------ the ledger

    def head(self) -> tuple[int, str]:
        with self.engine.connect() as conn:
            row = conn.execute(select(ledger_head.c.seq, ledger_head.c.hash)).one()
            return int(row.seq), str(row.hash)

    def _event_rows(self, after_seq: int, batch: int) -> Iterator[Any]:
        last = after_seq
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(events).where(events.c.seq > last).order_by(events.c.seq).limit(batch)
                ).all()
            if not rows:
                return
            yield from rows
            last = rows[-1].seq

    def iter_events(self, after_seq: int = 0, batch: int = 5000) -> Iterator[StoredEvent]:
        for row in self._event_rows(after_seq, batch):
            yield _stored(row)

    def verify(self) -> VerifyReport:
        recorded = self.head()

        def pairs() -> Iterator[tuple[StoredEvent, str | None]]:
            for row in self._event_rows(0, 5000):
                stored = StoredEvent(row.seq, row.id, row.type, row.v, row.ts, row.actor, None,
                                     row.payload_sha256, row.prev_hash, row.hash)
                yield stored, row.payload

        return verify_chain(pairs(), recorded)

    def forget_cached_state(self) -> None:
        """Call after writing projection rows behind the ledger's back (bulk loaders such as the benchmark's
        graph generator): the SQLite writer keeps caches that are valid only while the ledger is the only
        way in."""
        if self._ledger is not None:
            self._ledger.forget()

    def rebuild(self, upto_seq: int | None = None) -> int:
        """Drop every registered projection's tables and replay the whole ledger (or its events up to
        ``upto_seq``) into fresh ones through the same handlers as live appends (``stores/projections``), in
        one transaction. It trusts the ledger: ``mlineage.audit.rebuild`` verifies it first."""
        count = 0
        self.forget_cached_state()
        with self._write() as (conn, _seq, _hash):
            tables = projection_tables()
            for table in reversed(tables):
                table.drop(conn, checkfirst=True)
            for table in tables:
                table.create(conn)
            projector = self._projector(conn)
            last = 0
            while True:
                query = select(events).where(events.c.seq > last)
                if upto_seq is not None:
                    query = query.where(events.c.seq <= upto_seq)
                rows = conn.execute(query.order_by(events.c.seq).limit(5000)).all()
                if not rows:
                    break
                for row in rows:
                    projector.apply(_stored(row))
                    count += 1
                last = rows[-1].seq
        return count

    def erase_payloads(self, seqs: Sequence[int]) -> int:
        """Remove the payloads of events ``seqs``, each of which a later ``PayloadErased`` event must name
        (``erasure.py``; append those first). The append-only trigger is lifted for this one statement inside
        the ledger lock's transaction and restored before it commits, so no other write sees it lifted.
        Returns how many payloads were removed (an already erased one counts nothing)."""
        import importlib

        from ..erasure import PAYLOAD_ERASED

        wanted = sorted({int(s) for s in seqs})
        if not wanted:
            return 0
        self.forget_cached_state()
        with self._write() as (conn, _seq, _hash):
            named: dict[int, int] = {}
            erasures = select(events.c.seq, events.c.payload).where(events.c.type == PAYLOAD_ERASED)
            for row in conn.execute(erasures):
                if row.payload is not None:
                    p = json.loads(row.payload)
                    named[int(p["seq"])] = int(row.seq)
            for seq in wanted:
                if named.get(seq, 0) <= seq:
                    raise IntegrityError(f"event {seq}'s payload may not be removed: no later PayloadErased "
                                         "event names it (append one first)")
            if self.dialect == "postgresql":
                conn.exec_driver_sql("ALTER TABLE events DISABLE TRIGGER events_no_update_delete")
            else:
                conn.exec_driver_sql("DROP TRIGGER events_no_update")
            removed = 0
            for chunk in _chunks(wanted):
                result = conn.execute(events.update()
                                      .where(events.c.seq.in_(chunk), events.c.payload.isnot(None))
                                      .values(payload=None))
                removed += int(result.rowcount or 0)
            if self.dialect == "postgresql":
                conn.exec_driver_sql("ALTER TABLE events ENABLE TRIGGER events_no_update_delete")
            else:
                first = importlib.import_module(
                    "mlineage.stores.migrations.versions.0001_ledger_and_projections")
                conn.exec_driver_sql(first._SQLITE_TRIGGERS[0])
        return removed

    def projection_snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every projection row, sorted: rebuild must reproduce this exactly."""
        out: dict[str, list[tuple[Any, ...]]] = {}
        with self.engine.connect() as conn:
            for table in projection_tables():
                rows = conn.execute(select(table)).all()
                out[table.name] = sorted((tuple(r) for r in rows), key=repr)
        return out

    # ------------------------------------------------------------------ projections

    def get_artifact(self, digest: str) -> Artifact | None:
        if self._ledger is not None:
            return self._ledger.get_artifact(digest)
        with self.engine.connect() as conn:
            row = conn.execute(select(*_ARTIFACT).where(artifacts.c.digest == digest)).first()
        return artifact_from_row(row) if row else None

    def has_children(self, digest: str) -> bool:
        """Whether the artifact has an outgoing edge (something used it, or derives from it): a run that
        produces an artifact with none, and does not use it, cannot close a cycle by producing it."""
        if self._ledger is not None:
            return self._ledger.has_children(digest)
        query = select(edges.c.parent).where(edges.c.parent.in_(self._nodes_of(digest))).limit(1)
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    @staticmethod
    def _nodes_of(digest: str) -> Any:
        """Every graph node of a digest: its first (``artifacts.node_id``) and any later occurrences."""
        return select(artifacts.c.node_id).where(artifacts.c.digest == digest).union_all(
            select(occurrences.c.node_id).where(occurrences.c.digest == digest))

    def get_run(self, run_id: str) -> Run | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).first()
        return _run(row) if row else None

    def find_artifacts(self, digest_prefix: str, limit: int = 50) -> list[Artifact]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*_ARTIFACT).where(artifacts.c.digest.startswith(digest_prefix, autoescape=True))
                .order_by(artifacts.c.digest).limit(limit)
            ).all()
        return [artifact_from_row(r) for r in rows]

    def find_runs(self, id_prefix: str, limit: int = 50) -> list[Run]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(runs)
                .where(runs.c.id.startswith(id_prefix, autoescape=True))
                .order_by(runs.c.id)
                .limit(limit)
            ).all()
        return [_run(r) for r in rows]

    def find_names(self, prefix: str, limit: int = 50) -> list[str]:
        """Artifact names starting with ``prefix``, in order (the explorer's type-ahead)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(versions.c.name).where(versions.c.name.startswith(prefix, autoescape=True))
                .group_by(versions.c.name).order_by(versions.c.name).limit(limit)
            ).all()
        return [str(r.name) for r in rows]

    def get_version(self, name: str, version: int | None = None) -> Artifact | None:
        query = select(versions.c.digest, versions.c.version).where(versions.c.name == name)
        query = query.order_by(versions.c.version.desc()).limit(1) if version is None else query.where(
            versions.c.version == version
        )
        with self.engine.connect() as conn:
            label = conn.execute(query).first()
            if label is None:
                return None
            row = conn.execute(select(*_ARTIFACT).where(artifacts.c.digest == label.digest)).one()
        artifact = artifact_from_row(row)
        if artifact.name != name or artifact.version != label.version:
            # The same bytes can carry several names; show the one the user asked for.
            artifact = Artifact(artifact.digest, artifact.kind, artifact.size, name, int(label.version),
                                artifact.media_type, artifact.uri, artifact.metadata, artifact.created_at)
        return artifact

    def list_versions(self, name: str) -> list[NamedVersion]:
        """Every version of ``name``, oldest first, with the event that recorded each label."""
        query = (select(*_ARTIFACT, versions.c.version.label("label_version"),
                        versions.c.created_seq.label("label_seq"), events.c.ts.label("label_ts"),
                        events.c.actor.label("label_actor"))
                 .join(artifacts, artifacts.c.digest == versions.c.digest)
                 .join(events, events.c.seq == versions.c.created_seq)
                 .where(versions.c.name == name).order_by(versions.c.version))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        out = []
        for row in rows:
            a = artifact_from_row(row)
            labelled = Artifact(a.digest, a.kind, a.size, name, int(row.label_version), a.media_type, a.uri,
                                a.metadata, a.created_at)
            out.append(NamedVersion(labelled, int(row.label_seq), row.label_ts, row.label_actor))
        return out

    def last_seen(self, run_id: str) -> str | None:
        """When the run last showed it was alive: the time of its latest event or heartbeat (None:
        unknown)."""
        with self.engine.connect() as conn:
            row = conn.execute(text(
                "SELECT e.ts, h.at FROM runs r JOIN events e ON e.seq = r.updated_seq "
                "LEFT JOIN run_heartbeats h ON h.run_id = r.id WHERE r.id = :id"), {"id": run_id}).first()
        if row is None:
            return None
        return str(max(t for t in (row[0], row[1]) if t is not None))

    def consumers_of(self, digest: str) -> list[Run]:
        """The runs that used the artifact, in the order they were recorded."""
        return self._runs_on_edges(digest, "USED")

    def list_runs(self, limit: int = 50, job: str | None = None, status: str | None = None) -> list[Run]:
        query = select(runs).order_by(runs.c.started_at.desc(), runs.c.created_seq.desc()).limit(limit)
        if job is not None:
            query = query.where(runs.c.job == job)
        if status is not None:
            query = query.where(runs.c.status == status)
        with self.engine.connect() as conn:
            return [_run(r) for r in conn.execute(query).all()]

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float, str]]:
        """(step, value, timestamp) in the order written: by event, and by step within an event."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(metric_batches.c.steps, metric_batches.c.metric_values, metric_batches.c.timestamps)
                .where(and_(metric_batches.c.run_id == run_id, metric_batches.c.key == key))
                .order_by(metric_batches.c.seq)
            ).all()
        history: list[tuple[int, float, str]] = []
        for row in rows:  # within one event, by step (stable: repeated steps keep their order)
            history.extend(
                sorted(unpack(row.steps, row.metric_values, row.timestamps), key=lambda item: item[0])
            )
        return history

    # ------------------------------------------------------------------ graph access

    def node_id(self, ref: NodeRef, *, newest: bool = False, as_of_seq: int | None = None) -> int | None:
        """The node of a run, or of an artifact's first occurrence; with ``newest``, of the artifact's newest
        occurrence (created at or before ``as_of_seq``): where a walk up from a digest starts, so it reaches
        the ancestors of every occurrence (they are chained oldest to newest). One round trip either way."""
        sql = "SELECT id FROM nodes WHERE key = :k"  # text: no Core statement to compile in a new process
        if newest and ref.kind is NodeKind.ARTIFACT:
            when = "" if as_of_seq is None else " AND created_seq <= :t"
            later = f"SELECT MAX(node_id) FROM occurrences WHERE digest = :k{when}"
            sql = f"SELECT COALESCE(({later}), ({sql}))"
        with self.engine.connect() as conn:
            value = conn.execute(text(sql), {"k": ref.key, "t": as_of_seq}).scalar()
        return int(value) if value is not None else None

    def adjacent(self, node_ids: Sequence[int], direction: Direction, as_of_seq: int | None = None
                 ) -> list[AdjacentEdge]:
        near, far = (edges.c.child, edges.c.parent) if direction == "up" else (edges.c.parent, edges.c.child)
        found: list[AdjacentEdge] = []
        with self.engine.connect() as conn:
            for chunk in self._id_chunks(node_ids):
                query = select(near, far, edges.c.type, edges.c.role, edges.c.created_seq).where(
                    self._among(near, chunk))
                if as_of_seq is not None:
                    query = query.where(edges.c.created_seq <= as_of_seq)
                found.extend(AdjacentEdge(int(r[0]), int(r[1]), r[2], r[3], int(r[4]))
                             for r in conn.execute(query))
        return found

    def graph_columns(self, after_seq: int, upto_seq: int) -> GraphColumns:
        """Edges and nodes created in ``(after_seq, upto_seq]`` as flat integer columns, read with the
        driver's raw cursor: this is how the in-memory graph snapshot loads and refreshes itself."""
        edge_sql = "SELECT parent, child, created_seq FROM edges WHERE created_seq > :a AND created_seq <= :b"
        node_sql = (
            "SELECT n.id, COALESCE(a.kind, 'run') FROM nodes n LEFT JOIN artifacts a ON a.node_id = n.id "
            "WHERE n.created_seq > :a AND n.created_seq <= :b"
        )
        with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                import numpy as np

                literal = {":a": str(int(after_seq)), ":b": str(int(upto_seq))}
                for key, value in literal.items():
                    edge_sql, node_sql = edge_sql.replace(key, value), node_sql.replace(key, value)
                edge_tokens = self._pg_copy(conn, edge_sql).split()
                ints = (
                    np.array(edge_tokens, dtype=np.bytes_).astype(np.int64)
                    if edge_tokens
                    else np.zeros(0, np.int64)
                )
                node_tokens = self._pg_copy(conn, node_sql).split()
                ids: Any = (
                    np.array(node_tokens[0::2], dtype=np.bytes_).astype(np.int64) if node_tokens else []
                )
                kinds = self._occurrence_kinds(conn, after_seq, upto_seq, ids,
                                               [k.decode() for k in node_tokens[1::2]])
                return GraphColumns(ints[0::3], ints[1::3], ints[2::3], ids,  # type: ignore[arg-type]
                                    kinds, self._last_node(conn, upto_seq))
            else:  # the raw sqlite3 cursor: plain tuples, no Row objects for millions of rows
                raw = conn.connection.dbapi_connection
                assert raw is not None
                cursor = raw.cursor()
                qmarks = (after_seq, upto_seq)
                flat = [v for row in cursor.execute(edge_sql.replace(":a", "?").replace(":b", "?"), qmarks)
                        for v in row]
                node_rows = cursor.execute(node_sql.replace(":a", "?").replace(":b", "?"), qmarks).fetchall()
                cursor.close()
                last = self._last_node(conn, upto_seq)
                node_ids = [r[0] for r in node_rows]
                kinds = self._occurrence_kinds(conn, after_seq, upto_seq, node_ids, [r[1] for r in node_rows])
        return GraphColumns(flat[0::3], flat[1::3], flat[2::3], node_ids, kinds, last)

    @staticmethod
    def _occurrence_kinds(conn: Connection, after_seq: int, upto_seq: int, node_ids: Any,
                          kinds: list[str]) -> list[str]:
        """``kinds`` with the artifact kind of each later occurrence of a digest among ``node_ids`` (the
        node query joins ``artifacts`` by first node only). The occurrences table holds only content produced
        again downstream of itself, so this reads a handful of rows, not one per node."""
        rows = conn.execute(
            select(occurrences.c.node_id, artifacts.c.kind)
            .join(artifacts, artifacts.c.digest == occurrences.c.digest)
            .where(and_(occurrences.c.created_seq > after_seq, occurrences.c.created_seq <= upto_seq))
        ).all()
        if not rows:
            return kinds
        position = {int(n): i for i, n in enumerate(node_ids)}
        for node_id, kind in rows:
            if int(node_id) in position:
                kinds[position[int(node_id)]] = kind
        return kinds

    @staticmethod
    def _pg_copy(conn: Connection, query: str) -> bytes:
        """The text output of ``COPY (query) TO STDOUT`` (the fastest way out of PostgreSQL for many rows)."""
        raw = conn.connection.dbapi_connection
        assert raw is not None
        chunks: list[bytes] = []
        with raw.cursor() as cursor, cursor.copy(f"COPY ({query}) TO STDOUT") as copy:  # type: ignore[attr-defined]
            for block in copy:
                chunks.append(bytes(block))
        return b"".join(chunks)

    def graph_state(self, node_key: str | None) -> tuple[int, int | None]:
        """(ledger head seq, id of the node with this key) in one round trip: the graph snapshot's per-query
        check that it is current and that node ids were not renumbered (a rebuild on PostgreSQL closes the
        gaps that rejected writes left in the id sequence)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT (SELECT seq FROM ledger_head WHERE id = 1), (SELECT id FROM nodes WHERE key = :k)"
                ),
                {"k": node_key or ""},
            ).one()
        return int(row[0]), (int(row[1]) if row[1] is not None else None)

    def edge_count_estimate(self) -> int:
        """A cheap size estimate of the edges table (no full count): SQLite's largest rowid, PostgreSQL's
        planner statistics (a real count when the table was never analysed)."""
        with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                value = conn.execute(
                    text("SELECT reltuples::bigint FROM pg_class WHERE oid = 'edges'::regclass")
                ).scalar()
                if value is None or value < 0:
                    value = conn.execute(text("SELECT COUNT(*) FROM edges")).scalar()
            else:
                value = conn.execute(text("SELECT MAX(rowid) FROM edges")).scalar()
        return int(value or 0)

    def _last_node(self, conn: Connection, upto_seq: int) -> tuple[int, str] | None:
        row = conn.execute(select(nodes.c.id, nodes.c.key).where(nodes.c.created_seq <= upto_seq)
                           .order_by(nodes.c.id.desc()).limit(1)).first()
        return (int(row.id), str(row.key)) if row else None

    def node_created_seq(self, node_id: int) -> int | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(nodes.c.created_seq).where(nodes.c.id == node_id)).scalar()
        return int(value) if value is not None else None

    def seq_at(self, ts: str) -> int:
        """The last ledger seq the store had written by ``ts`` (0 when it had nothing yet): by each event's
        ``recorded_at``, never by the time its writer claimed (``eventtime.py``); events written before that
        column existed count by their ``ts``."""
        with self.engine.connect() as conn:
            recorded = conn.execute(select(func.max(events.c.seq)).where(events.c.recorded_at <= ts)).scalar()
            older = conn.execute(select(func.max(events.c.seq)).where(
                and_(events.c.recorded_at.is_(None), events.c.ts <= ts))).scalar()
        return max(int(recorded or 0), int(older or 0))

    def reachable(self, node_id: int, direction: Direction, as_of_seq: int | None = None,
                  cap: int | None = None) -> list[int]:
        """Every node reachable from ``node_id`` (itself included) with one indexed recursive CTE: the SQL
        fallback of the graph engine. ``UNION`` (not ``UNION ALL``) makes it terminate on any data."""
        near, far = ("child", "parent") if direction == "up" else ("parent", "child")
        when = "" if as_of_seq is None else " AND e.created_seq <= :asof"
        sql = (
            f"WITH RECURSIVE reach(n) AS (SELECT CAST(:start AS INTEGER) UNION "
            f"SELECT e.{far} FROM edges e JOIN reach r ON e.{near} = r.n WHERE 1 = 1{when}) SELECT n FROM "
            "reach"
        )
        if cap is not None:
            sql += f" LIMIT {int(cap)}"
        with self.engine.connect() as conn:
            return [int(v) for v in conn.execute(text(sql), {"start": node_id, "asof": as_of_seq}).scalars()]

    def describe(self, node_ids: Sequence[int]) -> dict[int, Artifact | Run]:
        return self.node_records(node_ids)

    def _id_chunks(self, node_ids: Sequence[int]) -> Iterator[Sequence[int]]:
        # PostgreSQL takes one array parameter (= ANY), so chunks can be large; SQLite binds each id.
        return _chunks([int(i) for i in node_ids], 20_000 if self.dialect == "postgresql" else _CHUNK)

    def _among(self, column: Any, chunk: Sequence[int]) -> Any:
        if self.dialect == "postgresql":
            from sqlalchemy import ARRAY, BigInteger, any_, bindparam

            return column == any_(bindparam("ids", list(chunk), type_=ARRAY(BigInteger)))
        return column.in_(chunk)

    def io_of_run(self, run_id: str) -> tuple[list[tuple[Artifact, str]], list[tuple[Artifact, str]]]:
        """(inputs, outputs) of a run with their roles, in the order they were recorded (an output that is a
        later occurrence of its digest says so in ``Artifact.occurrence``)."""
        with self.engine.connect() as conn:
            node = conn.execute(select(runs.c.node_id).where(runs.c.id == run_id)).scalar()
            if node is None:
                return [], []
            linked = conn.execute(
                select(edges.c.parent, edges.c.child, edges.c.type, edges.c.role)
                .where(and_(
                    ((edges.c.child == node) & (edges.c.type == "USED"))
                    | ((edges.c.parent == node) & (edges.c.type == "PRODUCED"))))
                .order_by(edges.c.created_seq, edges.c.parent, edges.c.child)
            ).all()
        records = self.node_records(sorted({int(r.parent if r.type == "USED" else r.child) for r in linked}))
        inputs = [(records[int(r.parent)], r.role) for r in linked
                  if r.type == "USED" and isinstance(records.get(int(r.parent)), Artifact)]
        outputs = [(records[int(r.child)], r.role) for r in linked
                   if r.type == "PRODUCED" and isinstance(records.get(int(r.child)), Artifact)]
        return inputs, outputs  # type: ignore[return-value]

    def producers_of(self, digest: str) -> list[Run]:
        return self._runs_on_edges(digest, "PRODUCED")

    def _runs_on_edges(self, digest: str, edge_type: str) -> list[Run]:
        """Runs joined to any occurrence of the artifact by ``edge_type`` edges (PRODUCED: run -> artifact;
        USED: artifact -> run), in the order they were recorded, each once."""
        run_end, artifact_end = (edges.c.parent, edges.c.child) if edge_type == "PRODUCED" else (
            edges.c.child, edges.c.parent)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(runs).join(edges, run_end == runs.c.node_id)
                .where(and_(artifact_end.in_(self._nodes_of(digest)), edges.c.type == edge_type))
                .order_by(runs.c.created_seq)
            ).all()
        return [_run(r) for r in {r.id: r for r in rows}.values()]

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {
                name: int(conn.execute(text(f"SELECT COUNT(*) FROM {name}")).scalar_one())
                for name in ("events", "artifacts", "runs", "edges")
            }

    # ------------------------------------------------------------------ lineage output (see records.py)

    def node_records(
        self, node_ids: Sequence[int], as_of_seq: int | None = None
    ) -> dict[int, Artifact | Run]:
        """``describe`` through the driver's cursor, for query output; with ``as_of_seq``, each node as it
        stood at that ledger seq (a later name/version label absent, a run folded from its events up to
        it)."""
        from .records import RecordReader

        with self.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            cursor = raw.cursor()
            try:
                return RecordReader(cursor, self.dialect == "postgresql").node_records(
                    list(self._id_chunks(node_ids)), as_of_seq)
            finally:
                cursor.close()

    def edges_among(self, node_ids: Sequence[int], direction: Direction, as_of_seq: int | None = None
                    ) -> list[tuple[int, int, str, str]]:
        """``adjacent`` through the driver's cursor, keeping only the edges whose far end is among
        ``node_ids`` too (the induced subgraph of a lineage result), as plain (source, target, type, role)
        tuples: a dataclass per edge cost more than the query."""
        from .records import RecordReader

        members = {int(i) for i in node_ids}
        with self.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            cursor = raw.cursor()
            try:
                return RecordReader(cursor, self.dialect == "postgresql").edges_among(
                    list(self._id_chunks(node_ids)), members, direction, as_of_seq)
            finally:
                cursor.close()

    def query_service(self) -> None:
        """Lineage queries run here, by the graph engine over this store."""

    def graph_head(self, node_key: str | None) -> tuple[int, int | None]:
        """``graph_state`` for the graph snapshot's per-query freshness check. On PostgreSQL it runs on a
        connection of its own, kept open in autocommit mode: a pooled connection costs a ping on checkout, a
        BEGIN and a ROLLBACK: four round trips for one answer instead of one."""
        if self.dialect != "postgresql":
            return self.graph_state(node_key)
        import os
        import threading
        import weakref

        import psycopg

        state = self.__dict__.setdefault("_graph_head", {"lock": threading.Lock(), "conn": None, "pid": None,
                                                         "closer": None, "inherited": []})
        sql = "SELECT (SELECT seq FROM ledger_head WHERE id = 1), (SELECT id FROM nodes WHERE key = %s)"
        with state["lock"]:
            for attempt in (1, 2):
                conn = state["conn"]
                if conn is not None and state["pid"] != os.getpid():
                    # a forked child must neither use nor close (terminate) its parent's session: keep it
                    # aside
                    state["closer"].detach()
                    state["inherited"].append(conn)
                    conn = None
                if conn is None or conn.closed:
                    url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
                    conn = state["conn"] = psycopg.connect(url, autocommit=True)
                    state["pid"] = os.getpid()
                    state["closer"] = weakref.finalize(self, conn.close)  # closed with the store
                try:
                    row = conn.execute(sql, (node_key or "",)).fetchone()
                    break
                except psycopg.OperationalError:  # a dropped connection: reconnect once
                    state["conn"] = None
                    with contextlib.suppress(psycopg.Error):
                        conn.close()
                    if attempt == 2:
                        raise
        assert row is not None
        return int(row[0]), (int(row[1]) if row[1] is not None else None)
