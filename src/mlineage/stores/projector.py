"""Applies ledger events to the projection tables, inside the writer's transaction.

The same code path serves live appends and ``rebuild``, which is what makes the two produce identical
tables. Checks that need the current graph (unknown run, unknown artifact, a cycle, a run ended twice) raise
here, and the caller's transaction rolls the whole batch back.

This is the hot path of every write, so it talks to the DB-API cursor directly with SQL written once per
dialect, and remembers the runs and artifacts it has seen in this transaction (it holds the ledger lock, so
nobody else can change them meanwhile). SQLAlchemy's statement construction cost ~10x more per event.
"""

from __future__ import annotations

import contextlib
import functools
import json
import operator
import re
from collections.abc import Callable, Sequence
from typing import Any

from .. import events as ev
from ..erasure import PAYLOAD_ERASED
from ..errors import CycleError, LedgerError, NotFoundError, ValidationError
from ..events import NewEvent, StoredEvent
from ..jsonvalues import with_floats
from ..ledger import SealedEvent, seal
from ..model import EdgeType, NodeKind
from .idempotency import new_only
from .metric_codec import pack_steps, pack_timestamps, pack_values


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@functools.lru_cache(maxsize=128)
def _for_dialect(sql: str, postgres: bool) -> str:
    """Statements are written with ``:name`` parameters (sqlite3's style); psycopg wants ``%(name)s``."""
    return re.sub(r":([a-z_][a-z_0-9]*)", r"%(\1)s", sql) if postgres else sql


_KEY, _STEP, _VALUE, _TS = (operator.itemgetter(field) for field in ("key", "step", "value", "ts"))


def _by_key(keys: list[str], steps: list[int], values: list[float],
            stamps: list[str]) -> dict[str, tuple[list[int], list[float], list[str]]]:
    """Each key's steps, values and timestamps, in order: one pass over the values (a training loop's flush
    usually has one key, and then the columns are used as they are)."""
    if len(set(keys)) == 1:
        return {keys[0]: (steps, values, stamps)}
    grouped: dict[str, tuple[list[int], list[float], list[str]]] = {}
    for key, step, value, stamp in zip(keys, steps, values, stamps, strict=True):
        columns = grouped.get(key)
        if columns is None:
            columns = grouped[key] = ([], [], [])
        columns[0].append(step)
        columns[1].append(value)
        columns[2].append(stamp)
    return grouped


class _RunState:
    __slots__ = ("metrics", "node_id", "params", "status")

    def __init__(self, node_id: int, status: str, params: dict[str, Any], metrics: dict[str, float]) -> None:
        self.node_id = node_id
        self.status = status
        self.params = params
        self.metrics = metrics


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
        self._reader = dbapi.cursor()  # reads get their own cursor: in pipeline mode results are per cursor
        self.postgres = postgres
        self._runs: dict[str, _RunState] = {}
        self._artifacts: dict[str, tuple[int, bool]] = {}  # digest -> (node id, has a name)
        self._next_node_id: int | None = None
        self._created: set[int] = set()  # nodes inserted in this transaction
        self._has_children: set[int] = set()  # nodes given an outgoing edge in this transaction
        self._edges_added: set[tuple[int, int, str, str]] = set()
        mark = "%s" if postgres else "?"
        self._metric_batch_insert = ("INSERT INTO metric_batches (run_id, key, seq, steps, metric_values, timestamps) "
                                     f"VALUES ({', '.join([mark] * 6)})")
        self._handlers: dict[str, Callable[[StoredEvent, dict[str, Any]], None]] = {
            ev.ARTIFACT_RECORDED: self._artifact_recorded,
            ev.RUN_STARTED: self._run_started,
            ev.ARTIFACT_USED: self._artifact_used,
            ev.ARTIFACT_PRODUCED: self._artifact_produced,
            ev.ARTIFACT_DERIVED: self._artifact_derived,
            ev.PARAMS_LOGGED: self._params_logged,
            ev.METRICS_LOGGED: self._metrics_logged,
            ev.RUN_ENDED: self._run_ended,
            PAYLOAD_ERASED: self._payload_erased,
        }

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
            self._reader.execute(_for_dialect(f"SELECT id, type, v, payload_sha256, payload FROM events WHERE id IN "
                                              f"({marks})", self.postgres), params)
            found.update((row[0], (row[1], int(row[2]), row[3], row[4])) for row in self._reader.fetchall())
        return found

    def insert_events(self, sealed: Sequence[SealedEvent]) -> None:
        recorded = ev.utc_now()  # the store's time, not the writer's claim: what --as-of orders by
        self.cursor.executemany(
            _for_dialect("INSERT INTO events (seq, id, type, v, ts, actor, payload, payload_sha256, prev_hash, hash, "
                         "recorded_at) VALUES (:seq, :id, :type, :v, :ts, :actor, :payload, :psha, :prev, :hash, "
                         ":recorded)", self.postgres),
            [{"seq": s.event.seq, "id": s.event.id, "type": s.event.type, "v": s.event.v, "ts": s.event.ts,
              "actor": s.event.actor, "payload": s.payload_json, "psha": s.event.payload_sha256,
              "prev": s.event.prev_hash, "hash": s.event.hash, "recorded": recorded} for s in sealed],
        )

    def move_head(self, seq: int, digest: str) -> None:
        self._x("UPDATE ledger_head SET seq = :seq, hash = :hash WHERE id = 1", {"seq": seq, "hash": digest})

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
        sealed = seal(checked, head_seq, head_hash)
        with self.pipelined():
            self.insert_events(sealed)
            for item in sealed:
                self.apply(item.event)
            self.move_head(sealed[-1].event.seq, sealed[-1].event.hash)
        return [s.event for s in sealed]

    def oversized(self) -> bool:
        return max(len(self._runs), len(self._artifacts), len(self._created), len(self._edges_added)) > \
            self.MAX_CACHED

    # ------------------------------------------------------------ projections

    def apply(self, event: StoredEvent) -> None:
        if event.payload is None:  # an erased payload projects nothing
            return
        handler = self._handlers.get(event.type)
        if handler is None:
            raise LedgerError(f"event {event.seq} has unknown type {event.type!r}")
        handler(event, event.payload)

    # ------------------------------------------------------------ helpers

    def _x(self, sql: str, params: dict[str, Any]) -> Any:
        self.cursor.execute(_for_dialect(sql, self.postgres), params)
        return self.cursor

    def _one(self, sql: str, params: dict[str, Any]) -> Any:
        self._reader.execute(_for_dialect(sql, self.postgres), params)
        return self._reader.fetchone()

    def _reaches(self, start: int, target: int) -> bool:
        """Whether ``target`` is ``start`` or one of its descendants: the write-time cycle check.

        Searched from both ends at once, one level at a time, always growing the smaller frontier: the
        descendants of ``start`` going down and the ancestors of ``target`` going up, until they meet or
        one side runs out. Walking down alone (a recursive CTE) visited every descendant of an early node,
        3.1 s for an edge from a late node to an early one in the 1M-node benchmark graph, whose late
        node has few ancestors.
        """
        if start == target:
            return True
        down, up = {start}, {target}
        down_frontier, up_frontier = [start], [target]
        while down_frontier and up_frontier:
            going_down = len(down_frontier) <= len(up_frontier)
            frontier, seen, other = (down_frontier, down, up) if going_down else (up_frontier, up, down)
            found = self._neighbours(frontier, downwards=going_down)
            if not found.isdisjoint(other):
                return True
            fresh = [n for n in found if n not in seen]
            seen.update(fresh)
            if going_down:
                down_frontier = fresh
            else:
                up_frontier = fresh
        return False

    def _neighbours(self, nodes: list[int], *, downwards: bool) -> set[int]:
        """The children (or parents) of ``nodes`` over edges of every type, in chunks of bound parameters."""
        want, given = ("child", "parent") if downwards else ("parent", "child")
        found: set[int] = set()
        for begin in range(0, len(nodes), 500):
            chunk = nodes[begin:begin + 500]
            if self.postgres:
                self._reader.execute(f"SELECT {want} FROM edges WHERE {given} = ANY(%s)", (chunk,))
            else:
                marks = ",".join("?" * len(chunk))
                self._reader.execute(f"SELECT {want} FROM edges WHERE {given} IN ({marks})", chunk)
            found.update(row[0] for row in self._reader.fetchall())
        return found

    def _node(self, kind: NodeKind, key: str, seq: int) -> int:
        """Node ids are dense and assigned in ledger order while the writer holds the ledger lock, so a
        replay assigns the same ids. (A database sequence would not: PostgreSQL consumes sequence values in
        rolled-back transactions, which a rebuild then closes up.)"""
        if self._next_node_id is None:
            self._next_node_id = int(self._one("SELECT COALESCE(MAX(id), 0) FROM nodes", {})[0]) + 1
        node_id = self._next_node_id
        self._x("INSERT INTO nodes (id, kind, key, created_seq) VALUES (:id, :kind, :key, :seq)",
                {"id": node_id, "kind": kind.value, "key": key, "seq": seq})
        self._next_node_id += 1
        self._created.add(node_id)
        return node_id

    def _artifact(self, digest: str) -> tuple[int, bool] | None:
        known = self._artifacts.get(digest)
        if known is None:
            row = self._one("SELECT node_id, name FROM artifacts WHERE digest = :d", {"d": digest})
            if row is None:
                return None
            known = self._artifacts[digest] = (int(row[0]), row[1] is not None)
        return known

    def _artifact_node(self, digest: str, field: str) -> int:
        known = self._artifact(digest)
        if known is None:
            raise NotFoundError(f"{field}: artifact {digest} is not recorded (record it before linking it)")
        return known[0]

    def _run(self, run_id: str) -> _RunState:
        state = self._runs.get(run_id)
        if state is None:
            row = self._one("SELECT node_id, status, params, metrics FROM runs WHERE id = :id", {"id": run_id})
            if row is None:
                raise NotFoundError(f"run_id: run {run_id} is not recorded (start the run first)")
            state = self._runs[run_id] = _RunState(int(row[0]), row[1], json.loads(row[2]), json.loads(row[3]))
        return state

    def _edge(self, parent: int, child: int, type_: EdgeType, role: str | None, seq: int) -> None:
        key = (parent, child, type_.value, role or "")
        if key in self._edges_added:
            return
        params = {"p": parent, "c": child, "t": type_.value, "r": role or ""}
        # A node created in this transaction has no edges in the database, so the edge cannot exist yet;
        # and one that has not been given children here cannot reach anything, so no cycle check is needed.
        # That spares the two round trips for the common case: a run producing a brand-new artifact.
        fresh = parent in self._created or child in self._created
        if not fresh and self._one(
                "SELECT 1 FROM edges WHERE parent = :p AND child = :c AND type = :t AND role = :r", params):
            return
        leaf = child in self._created and child not in self._has_children
        if not leaf and self._reaches(child, parent):
            raise CycleError(
                f"a {type_.value} edge from node {parent} to node {child} would close a cycle in the lineage "
                "graph; the write was rejected"
            )
        self._x("INSERT INTO edges (parent, child, type, role, created_seq) VALUES (:p, :c, :t, :r, :seq)",
                dict(params, seq=seq))
        self._edges_added.add(key)
        self._has_children.add(parent)

    # ------------------------------------------------------------ handlers

    def _artifact_recorded(self, e: StoredEvent, p: dict[str, Any]) -> None:
        digest = p["digest"]
        name = p.get("name")
        version = self._register_version(name, digest, p.get("version"), e.seq) if name is not None else None
        known = self._artifact(digest)
        if known is not None:
            if name is not None and not known[1]:
                self._x("UPDATE artifacts SET name = :n, version = :v WHERE digest = :d",
                        {"n": name, "v": version, "d": digest})
                self._artifacts[digest] = (known[0], True)
            return
        node_id = self._node(NodeKind.ARTIFACT, digest, e.seq)
        self._x(
            "INSERT INTO artifacts (digest, node_id, kind, size, name, version, media_type, uri, metadata, "
            "created_seq, created_at) VALUES (:digest, :node_id, :kind, :size, :name, :version, :media_type, "
            ":uri, :metadata, :seq, :ts)",
            {"digest": digest, "node_id": node_id, "kind": p["kind"], "size": p.get("size"), "name": name,
             "version": version, "media_type": p.get("media_type"), "uri": p.get("uri"),
             "metadata": _json(p.get("metadata", {})), "seq": e.seq, "ts": e.ts},
        )
        self._artifacts[digest] = (node_id, name is not None)

    def _register_version(self, name: str, digest: str, wanted: int | None, seq: int) -> int:
        row = self._one("SELECT version FROM versions WHERE name = :n AND digest = :d", {"n": name, "d": digest})
        if row is not None:
            if wanted is not None and wanted != row[0]:
                raise ValidationError("version", f"{name} already has this content as version {row[0]}")
            return int(row[0])
        if wanted is not None:
            if self._one("SELECT 1 FROM versions WHERE name = :n AND version = :v", {"n": name, "v": wanted}):
                raise ValidationError("version", f"{name}@{wanted} already names different content")
            version = wanted
        else:
            latest = self._one("SELECT MAX(version) FROM versions WHERE name = :n", {"n": name})[0]
            version = (latest or 0) + 1
        self._x("INSERT INTO versions (name, version, digest, created_seq) VALUES (:n, :v, :d, :seq)",
                {"n": name, "v": version, "d": digest, "seq": seq})
        return version

    def _run_started(self, e: StoredEvent, p: dict[str, Any]) -> None:
        run_id = p["run_id"]
        if run_id in self._runs or self._one("SELECT 1 FROM runs WHERE id = :id", {"id": run_id}):
            raise LedgerError(f"run_id: run {run_id} already exists")
        node_id = self._node(NodeKind.RUN, run_id, e.seq)
        params = with_floats(p["params"], p.get("float_params"))
        self._x(
            "INSERT INTO runs (id, node_id, job, kind, status, params, metrics, context, agent, error, started_at, "
            "ended_at, created_seq, updated_seq) VALUES (:id, :node_id, :job, :kind, 'running', :params, '{}', "
            ":context, :agent, NULL, :started_at, NULL, :seq, :seq)",
            {"id": run_id, "node_id": node_id, "job": p["job"], "kind": p["kind"], "params": _json(params),
             "context": _json(p["context"]), "agent": p.get("agent"), "started_at": p["started_at"], "seq": e.seq},
        )
        self._runs[run_id] = _RunState(node_id, "running", dict(params), {})

    def _artifact_used(self, e: StoredEvent, p: dict[str, Any]) -> None:
        run = self._run(p["run_id"])
        artifact = self._artifact_node(p["digest"], "digest")
        self._edge(artifact, run.node_id, EdgeType.USED, p.get("role"), e.seq)

    def _artifact_produced(self, e: StoredEvent, p: dict[str, Any]) -> None:
        run = self._run(p["run_id"])
        artifact = self._artifact_node(p["digest"], "digest")
        self._edge(run.node_id, artifact, EdgeType.PRODUCED, p.get("role"), e.seq)

    def _artifact_derived(self, e: StoredEvent, p: dict[str, Any]) -> None:
        parent = self._artifact_node(p["parent"], "parent")
        child = self._artifact_node(p["child"], "child")
        self._edge(parent, child, EdgeType.DERIVED_FROM, p.get("role"), e.seq)

    def _params_logged(self, e: StoredEvent, p: dict[str, Any]) -> None:
        run = self._run(p["run_id"])
        merged = dict(run.params)
        for key, value in with_floats(p["params"], p.get("float_params")).items():
            if key in merged and merged[key] != value:
                raise ValidationError(
                    f"params.{key}", f"already logged as {merged[key]!r}; params are immutable",
                    "log a metric, or use a new param name",
                )
            merged[key] = value
        self._x("UPDATE runs SET params = :params, updated_seq = :seq WHERE id = :id",
                {"params": _json(merged), "seq": e.seq, "id": p["run_id"]})
        run.params = merged

    def _metrics_logged(self, e: StoredEvent, p: dict[str, Any]) -> None:
        run_id = p["run_id"]
        run = self._run(run_id)
        # One row per key of the event, its values packed in logging order (see schema.metric_batches and
        # metric_codec): a training run's flush is then one or a few rows, not a row and an index entry per
        # value. The columns are taken in C loops (validated payloads have exactly these four fields).
        metrics = p["metrics"]
        keys = list(map(_KEY, metrics))
        steps, values, stamps = list(map(_STEP, metrics)), list(map(_VALUE, metrics)), list(map(_TS, metrics))
        rows = [(run_id, key, e.seq, pack_steps(s), pack_values(v), pack_timestamps(t))
                for key, (s, v, t) in _by_key(keys, steps, values, stamps).items()]
        self.cursor.executemany(self._metric_batch_insert, rows)
        latest = dict(run.metrics)
        latest.update(zip(keys, values))  # the last value of each key wins
        self._x("UPDATE runs SET metrics = :metrics, updated_seq = :seq WHERE id = :id",
                {"metrics": _json(latest), "seq": e.seq, "id": run_id})
        run.metrics = latest

    def _payload_erased(self, e: StoredEvent, p: dict[str, Any]) -> None:
        """Projects nothing; refuses an erasure that names no event of the ledger as it is (wrong id, seq or
        payload digest), so that it can never be re-aimed at another event."""
        row = self._one("SELECT seq, payload_sha256 FROM events WHERE id = :id", {"id": p["event_id"]})
        if row is None or int(row[0]) != p["seq"] or row[1] != p["payload_sha256"] or int(row[0]) >= e.seq:
            raise ValidationError("event_id", f"PayloadErased names event {p['event_id']} at seq {p['seq']} with "
                                  "payload digest " + p["payload_sha256"] + ", which is not an earlier event of "
                                  "this ledger", "copy event_id, seq and payload_sha256 from the event to erase")

    def _run_ended(self, e: StoredEvent, p: dict[str, Any]) -> None:
        run = self._run(p["run_id"])
        if run.status != "running":
            raise LedgerError(f"run_id: run {p['run_id']} already ended as {run.status}")
        error = p.get("error")
        self._x("UPDATE runs SET status = :status, ended_at = :ended_at, error = :error, updated_seq = :seq "
                "WHERE id = :id",
                {"status": p["status"], "ended_at": p["ended_at"], "error": _json(error) if error else None,
                 "seq": e.seq, "id": p["run_id"]})
        run.status = p["status"]
