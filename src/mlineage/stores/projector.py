"""Applies ledger events to the projection tables, inside the writer's transaction.

The same code path serves live appends and ``rebuild``, which is what makes the two produce identical
tables. Checks that need the current graph (unknown run, unknown artifact, a cycle, a run ended twice) raise
here, and the caller's transaction rolls the whole batch back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, text, update

from .. import events as ev
from ..errors import CycleError, LedgerError, NotFoundError, ValidationError
from ..events import StoredEvent
from ..model import EdgeType, NodeKind
from .schema import artifacts, edges, metrics, nodes, runs, versions


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_REACHES = text(
    """
    WITH RECURSIVE reach(n) AS (
        SELECT CAST(:start AS INTEGER)
        UNION
        SELECT e.child FROM edges e JOIN reach r ON e.parent = r.n
    )
    SELECT 1 FROM reach WHERE n = :target LIMIT 1
    """
)


class Projector:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._handlers: dict[str, Callable[[StoredEvent, dict[str, Any]], None]] = {
            ev.ARTIFACT_RECORDED: self._artifact_recorded,
            ev.RUN_STARTED: self._run_started,
            ev.ARTIFACT_USED: self._artifact_used,
            ev.ARTIFACT_PRODUCED: self._artifact_produced,
            ev.ARTIFACT_DERIVED: self._artifact_derived,
            ev.PARAMS_LOGGED: self._params_logged,
            ev.METRICS_LOGGED: self._metrics_logged,
            ev.RUN_ENDED: self._run_ended,
        }

    def apply(self, event: StoredEvent) -> None:
        if event.payload is None:  # an erased payload projects nothing
            return
        handler = self._handlers.get(event.type)
        if handler is None:
            raise LedgerError(f"event {event.seq} has unknown type {event.type!r}")
        handler(event, event.payload)

    # ------------------------------------------------------------ helpers

    def _node(self, kind: NodeKind, key: str, seq: int) -> int:
        # An event creates at most one node, so its seq is a unique id that replays identically. (A database
        # sequence would not: PostgreSQL consumes sequence values in rolled-back transactions.)
        self.conn.execute(insert(nodes).values(id=seq, kind=kind.value, key=key, created_seq=seq))
        return seq

    def _artifact_node(self, digest: str, field: str) -> int:
        node_id = self.conn.execute(select(artifacts.c.node_id).where(artifacts.c.digest == digest)).scalar()
        if node_id is None:
            raise NotFoundError(f"{field}: artifact {digest} is not recorded (record it before linking it)")
        return int(node_id)

    def _run_row(self, run_id: str) -> Any:
        row = self.conn.execute(
            select(runs.c.node_id, runs.c.status, runs.c.params).where(runs.c.id == run_id)
        ).first()
        if row is None:
            raise NotFoundError(f"run_id: run {run_id} is not recorded (start the run first)")
        return row

    def _edge(self, parent: int, child: int, type_: EdgeType, role: str | None, seq: int) -> None:
        role = role or ""
        exists = self.conn.execute(
            select(edges.c.parent).where(
                and_(edges.c.parent == parent, edges.c.child == child, edges.c.type == type_.value,
                     edges.c.role == role)
            )
        ).first()
        if exists:
            return
        if self.conn.execute(_REACHES, {"start": child, "target": parent}).first():
            raise CycleError(
                f"a {type_.value} edge from node {parent} to node {child} would close a cycle in the lineage "
                "graph; the write was rejected"
            )
        self.conn.execute(
            insert(edges).values(parent=parent, child=child, type=type_.value, role=role, created_seq=seq)
        )

    # ------------------------------------------------------------ handlers

    def _artifact_recorded(self, e: StoredEvent, p: dict[str, Any]) -> None:
        digest = p["digest"]
        name = p.get("name")
        version = None
        if name is not None:
            version = self._register_version(name, digest, p.get("version"), e.seq)
        exists = self.conn.execute(select(artifacts.c.name).where(artifacts.c.digest == digest)).first()
        if exists is not None:
            if exists.name is None and name is not None:
                self.conn.execute(
                    update(artifacts).where(artifacts.c.digest == digest).values(name=name, version=version)
                )
            return
        node_id = self._node(NodeKind.ARTIFACT, digest, e.seq)
        self.conn.execute(
            insert(artifacts).values(
                digest=digest, node_id=node_id, kind=p["kind"], size=p.get("size"), name=name, version=version,
                media_type=p.get("media_type"), uri=p.get("uri"), metadata=_json(p.get("metadata", {})),
                created_seq=e.seq, created_at=e.ts,
            )
        )

    def _register_version(self, name: str, digest: str, wanted: int | None, seq: int) -> int:
        existing = self.conn.execute(
            select(versions.c.version).where(and_(versions.c.name == name, versions.c.digest == digest))
        ).scalar()
        if existing is not None:
            if wanted is not None and wanted != existing:
                raise ValidationError("version", f"{name} already has this content as version {existing}")
            return int(existing)
        latest = self.conn.execute(select(func.max(versions.c.version)).where(versions.c.name == name)).scalar()
        version = wanted if wanted is not None else (latest or 0) + 1
        if wanted is not None and self.conn.execute(
            select(versions.c.digest).where(and_(versions.c.name == name, versions.c.version == wanted))
        ).first():
            raise ValidationError("version", f"{name}@{wanted} already names different content")
        self.conn.execute(insert(versions).values(name=name, version=version, digest=digest, created_seq=seq))
        return version

    def _run_started(self, e: StoredEvent, p: dict[str, Any]) -> None:
        if self.conn.execute(select(runs.c.id).where(runs.c.id == p["run_id"])).first():
            raise LedgerError(f"run_id: run {p['run_id']} already exists")
        node_id = self._node(NodeKind.RUN, p["run_id"], e.seq)
        self.conn.execute(
            insert(runs).values(
                id=p["run_id"], node_id=node_id, job=p["job"], kind=p["kind"], status="running",
                params=_json(p["params"]), metrics="{}", context=_json(p["context"]), agent=p.get("agent"),
                error=None, started_at=p["started_at"], ended_at=None, created_seq=e.seq, updated_seq=e.seq,
            )
        )

    def _artifact_used(self, e: StoredEvent, p: dict[str, Any]) -> None:
        run = self._run_row(p["run_id"])
        artifact = self._artifact_node(p["digest"], "digest")
        self._edge(artifact, run.node_id, EdgeType.USED, p.get("role"), e.seq)

    def _artifact_produced(self, e: StoredEvent, p: dict[str, Any]) -> None:
        run = self._run_row(p["run_id"])
        artifact = self._artifact_node(p["digest"], "digest")
        self._edge(run.node_id, artifact, EdgeType.PRODUCED, p.get("role"), e.seq)

    def _artifact_derived(self, e: StoredEvent, p: dict[str, Any]) -> None:
        parent = self._artifact_node(p["parent"], "parent")
        child = self._artifact_node(p["child"], "child")
        self._edge(parent, child, EdgeType.DERIVED_FROM, p.get("role"), e.seq)

    def _params_logged(self, e: StoredEvent, p: dict[str, Any]) -> None:
        run = self._run_row(p["run_id"])
        params = json.loads(run.params)
        for key, value in p["params"].items():
            if key in params and params[key] != value:
                raise ValidationError(
                    f"params.{key}", f"already logged as {params[key]!r}; params are immutable",
                    "log a metric, or use a new param name",
                )
            params[key] = value
        self.conn.execute(
            update(runs).where(runs.c.id == p["run_id"]).values(params=_json(params), updated_seq=e.seq)
        )

    def _metrics_logged(self, e: StoredEvent, p: dict[str, Any]) -> None:
        run_id = p["run_id"]
        self._run_row(run_id)
        rows = [
            {"run_id": run_id, "key": m["key"], "step": m["step"], "value": m["value"], "ts": m["ts"], "seq": e.seq}
            for m in p["metrics"]
        ]
        self.conn.execute(insert(metrics), rows)
        latest = json.loads(self.conn.execute(select(runs.c.metrics).where(runs.c.id == run_id)).scalar_one())
        for m in p["metrics"]:
            latest[m["key"]] = m["value"]
        self.conn.execute(update(runs).where(runs.c.id == run_id).values(metrics=_json(latest), updated_seq=e.seq))

    def _run_ended(self, e: StoredEvent, p: dict[str, Any]) -> None:
        run = self._run_row(p["run_id"])
        if run.status != "running":
            raise LedgerError(f"run_id: run {p['run_id']} already ended as {run.status}")
        error = p.get("error")
        self.conn.execute(
            update(runs)
            .where(runs.c.id == p["run_id"])
            .values(status=p["status"], ended_at=p["ended_at"], error=_json(error) if error else None,
                    updated_seq=e.seq)
        )
