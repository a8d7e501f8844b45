"""The lineage graph: nodes (artifacts and runs, by dense integer id) and the edges between them."""

from __future__ import annotations

from typing import Any

from ... import events as ev
from ...errors import CycleError
from ...events import StoredEvent
from ...model import EdgeType, NodeKind
from .base import Handler, Projection


class GraphProjection(Projection):
    """Owns ``nodes`` and ``edges``. Other projections create nodes through ``node`` (an artifact's first
    record, a run's start) and edges through ``edge``, which rejects an edge that would close a cycle, so
    every reader can assume a DAG."""

    name = "graph"
    tables = ("nodes", "edges")

    def __init__(self, writer: Any) -> None:
        super().__init__(writer)
        self._next_node_id: int | None = None
        self._created: set[int] = set()  # nodes inserted by this writer
        self._has_children: set[int] = set()  # nodes this writer gave an outgoing edge
        self._edges_added: set[tuple[int, int, str, str]] = set()

    def handlers(self) -> dict[str, Handler]:
        return {ev.ARTIFACT_USED: self._artifact_used, ev.ARTIFACT_PRODUCED: self._artifact_produced,
                ev.ARTIFACT_DERIVED: self._artifact_derived}

    def cached(self) -> int:
        return max(len(self._created), len(self._edges_added))

    def node(self, kind: NodeKind, key: str, seq: int) -> int:
        """Node ids are dense and assigned in ledger order while the writer holds the ledger lock, so a
        replay assigns the same ids. (A database sequence would not: PostgreSQL consumes sequence values in
        rolled-back transactions, which a rebuild then closes up.)"""
        if self._next_node_id is None:
            self._next_node_id = int(self.writer.one("SELECT COALESCE(MAX(id), 0) FROM nodes", {})[0]) + 1
        node_id = self._next_node_id
        self.writer.execute("INSERT INTO nodes (id, kind, key, created_seq) VALUES (:id, :kind, :key, :seq)",
                            {"id": node_id, "kind": kind.value, "key": key, "seq": seq})
        self._next_node_id += 1
        self._created.add(node_id)
        return node_id

    def edge(self, parent: int, child: int, type_: EdgeType, role: str | None, seq: int) -> None:
        """Add an edge unless it exists; raise ``CycleError`` if it would close a cycle."""
        key = (parent, child, type_.value, role or "")
        if key in self._edges_added:
            return
        params = {"p": parent, "c": child, "t": type_.value, "r": role or ""}
        # A node created by this writer has no edges it did not add, so the edge cannot exist yet; and one
        # that has not been given children here cannot reach anything, so no cycle check is needed. That
        # spares the two round trips for the common case: a run producing a brand-new artifact.
        fresh = parent in self._created or child in self._created
        if not fresh and self.writer.one(
                "SELECT 1 FROM edges WHERE parent = :p AND child = :c AND type = :t AND role = :r", params):
            return
        leaf = child in self._created and child not in self._has_children
        if not leaf and self._reaches(child, parent):
            raise CycleError(
                f"a {type_.value} edge from node {parent} to node {child} would close a cycle in the lineage "
                "graph; the write was rejected"
            )
        self.writer.execute("INSERT INTO edges (parent, child, type, role, created_seq) "
                            "VALUES (:p, :c, :t, :r, :seq)", dict(params, seq=seq))
        self._edges_added.add(key)
        self._has_children.add(parent)

    def _reaches(self, start: int, target: int) -> bool:
        """Whether ``target`` is ``start`` or one of its descendants: the write-time cycle check.

        Searched from both ends at once, one level at a time, always growing the smaller frontier: the
        descendants of ``start`` going down and the ancestors of ``target`` going up, until they meet or
        one side runs out. Walking down alone (a recursive CTE) visits every descendant of an early node,
        which in a large graph is most of it, while a late node has few ancestors.
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
        reader = self.writer.reader
        found: set[int] = set()
        for begin in range(0, len(nodes), 500):
            chunk = nodes[begin:begin + 500]
            if self.writer.postgres:
                reader.execute(f"SELECT {want} FROM edges WHERE {given} = ANY(%s)", (chunk,))
            else:
                marks = ",".join("?" * len(chunk))
                reader.execute(f"SELECT {want} FROM edges WHERE {given} IN ({marks})", chunk)
            found.update(row[0] for row in reader.fetchall())
        return found

    # ------------------------------------------------------------ handlers

    def _artifact_used(self, e: StoredEvent, p: dict[str, Any]) -> None:
        run = self.writer.projection("runs").state(p["run_id"])
        artifact = self.writer.projection("artifacts").node_of(p["digest"], "digest")
        self.edge(artifact, run.node_id, EdgeType.USED, p.get("role"), e.seq)

    def _artifact_produced(self, e: StoredEvent, p: dict[str, Any]) -> None:
        run = self.writer.projection("runs").state(p["run_id"])
        artifact = self.writer.projection("artifacts").node_of(p["digest"], "digest")
        self.edge(run.node_id, artifact, EdgeType.PRODUCED, p.get("role"), e.seq)

    def _artifact_derived(self, e: StoredEvent, p: dict[str, Any]) -> None:
        artifacts = self.writer.projection("artifacts")
        parent = artifacts.node_of(p["parent"], "parent")
        child = artifacts.node_of(p["child"], "child")
        self.edge(parent, child, EdgeType.DERIVED_FROM, p.get("role"), e.seq)
