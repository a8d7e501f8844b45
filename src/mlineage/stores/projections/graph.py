"""The lineage graph: nodes (artifacts and runs, by dense integer id) and the edges between them.

Content identity must not make the graph cyclic: a dedupe that changed nothing writes an output with its
input's digest, a revert writes v1's bytes again after v2, a format round trip comes back to its first bytes.
A node per digest would need an edge back up the chain. So a digest's node is one *occurrence* of it, and
content produced (or derived) again downstream of its newest occurrence gets a new one: a node keyed
``<digest>#<n>``, a row in ``occurrences``, and a SAME_CONTENT edge from the previous occurrence. The
occurrences of a digest form a chain, oldest to newest, so a walk down from the first reaches everything that
used any of them, and a walk up from the newest reaches the ancestors of all of them (what queries by digest
do: ``graph/engine.py``). Occurrences are created lazily, only where an edge would otherwise close a cycle:
the common case (a new output, or the same output again with nothing downstream of it) costs nothing more.
"""

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
    tables = ("nodes", "edges", "occurrences")

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
        """Add an edge unless it exists; raise ``CycleError`` (naming both ends) if it would close a cycle."""
        if not self.try_edge(parent, child, type_, role, seq):
            source, target = self.describe(parent), self.describe(child)
            raise CycleError(f"a {type_.value} edge from {source} to {target} would close a cycle in the "
                             f"lineage graph ({target} already leads to {source}); the write was rejected")

    def try_edge(self, parent: int, child: int, type_: EdgeType, role: str | None, seq: int) -> bool:
        """Add an edge unless it exists (True either way); False, adding nothing, if it would close a
        cycle."""
        key = (parent, child, type_.value, role or "")
        if key in self._edges_added:
            return True
        params = {"p": parent, "c": child, "t": type_.value, "r": role or ""}
        # A node created by this writer has no edges it did not add, so the edge cannot exist yet; and one
        # that has not been given children here cannot reach anything, so no cycle check is needed. That
        # spares the two round trips for the common case: a run producing a brand-new artifact.
        fresh = parent in self._created or child in self._created
        if not fresh and self.writer.one(
                "SELECT 1 FROM edges WHERE parent = :p AND child = :c AND type = :t AND role = :r", params):
            return True
        leaf = child in self._created and child not in self._has_children
        if not leaf and self._reaches(child, parent):
            return False
        self.writer.execute("INSERT INTO edges (parent, child, type, role, created_seq) "
                            "VALUES (:p, :c, :t, :r, :seq)", dict(params, seq=seq))
        self._edges_added.add(key)
        self._has_children.add(parent)
        return True

    def describe(self, node: int) -> str:
        """A node as a user knows it, for error messages: never the internal node number alone."""
        one = self.writer.one
        row = one("SELECT id, job FROM runs WHERE node_id = :n", {"n": node})
        if row is not None:
            return f"run {row[0]} ({row[1]})"
        row = one("SELECT digest, 1 FROM artifacts WHERE node_id = :n", {"n": node}) or one(
            "SELECT digest, ordinal FROM occurrences WHERE node_id = :n", {"n": node})
        if row is not None:
            named = one("SELECT name, version FROM artifacts WHERE digest = :d", {"d": row[0]})
            label = f" ({named[0]}@{named[1]})" if named is not None and named[0] is not None else ""
            occurrence = f", occurrence {row[1]}" if int(row[1]) > 1 else ""
            return f"artifact {row[0]}{label}{occurrence}"
        row = one("SELECT kind, key FROM nodes WHERE id = :n", {"n": node})
        return f"{row[0]} {row[1]}" if row is not None else "a node not yet recorded"

    def _new_occurrence(self, digest: str, seq: int) -> int:
        """A new newest occurrence of ``digest``: a node of its own, chained to the previous newest by a
        SAME_CONTENT edge (the new node has no children, so that edge closes nothing)."""
        artifacts = self.writer.projection("artifacts")
        chain = artifacts.occurrences_of(digest, "digest")
        ordinal = len(chain) + 1
        node_id = self.node(NodeKind.ARTIFACT, f"{digest}#{ordinal}", seq)
        self.writer.execute("INSERT INTO occurrences (node_id, digest, ordinal, created_seq) "
                            "VALUES (:n, :d, :o, :seq)",
                            {"n": node_id, "d": digest, "o": ordinal, "seq": seq})
        self.edge(chain[-1], node_id, EdgeType.SAME_CONTENT, None, seq)
        artifacts.add_occurrence(digest, node_id)
        return node_id

    def _into_artifact(self, parent: int, digest: str, type_: EdgeType, role: str | None, seq: int) -> None:
        """An edge into the digest's newest occurrence, or into a new one where that would close a cycle (the
        content was made again downstream of itself)."""
        newest = self.writer.projection("artifacts").newest_of(digest, "digest")
        if not self.try_edge(parent, newest, type_, role, seq):
            self.edge(parent, self._new_occurrence(digest, seq), type_, role, seq)

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
        """The newest occurrence the run does not already lead to. A run reading back its own output adds no
        edge (its PRODUCED edge already joins them); a run using content that descends from its own outputs
        through other runs cannot be drawn without a cycle and is refused."""
        run = self.writer.projection("runs").state(p["run_id"]).node_id
        artifacts = self.writer.projection("artifacts")
        digest, role = p["digest"], p.get("role")
        if self.try_edge(artifacts.newest_of(digest, "digest"), run, EdgeType.USED, role, e.seq):
            return
        chain = artifacts.occurrences_of(digest, "digest")
        for node in reversed(chain[:-1]):
            if self.try_edge(node, run, EdgeType.USED, role, e.seq):
                return
        if any(self.writer.one("SELECT 1 FROM edges WHERE parent = :r AND child = :a AND type = 'PRODUCED'",
                               {"r": run, "a": node}) for node in chain):
            return
        row = self.writer.one("SELECT r.job, a.name, a.version FROM runs r, artifacts a "
                              "WHERE r.id = :r AND a.digest = :d", {"r": p["run_id"], "d": digest})
        job = f" ({row[0]})" if row else ""
        label = f" ({row[1]}@{row[2]})" if row and row[1] is not None else ""
        raise CycleError(
            f"run {p['run_id']}{job} cannot use artifact {digest}{label}: that content descends from the "
            "run's own outputs through other runs, so the run would be its own ancestor; the write was "
            "rejected (record the later work as a run of its own)"
        )

    def _artifact_produced(self, e: StoredEvent, p: dict[str, Any]) -> None:
        run = self.writer.projection("runs").state(p["run_id"])
        self._into_artifact(run.node_id, p["digest"], EdgeType.PRODUCED, p.get("role"), e.seq)

    def _artifact_derived(self, e: StoredEvent, p: dict[str, Any]) -> None:
        """From the parent's newest occurrence that the child's newest does not lead to, into the child's
        newest; where every one does (a round trip: csv → parquet → the same csv), into a new occurrence of
        the child."""
        artifacts = self.writer.projection("artifacts")
        parent, child, role = p["parent"], p["child"], p.get("role")
        newest_parent = artifacts.newest_of(parent, "parent")
        newest_child = artifacts.newest_of(child, "child")
        if self.try_edge(newest_parent, newest_child, EdgeType.DERIVED_FROM, role, e.seq):
            return
        for node in reversed(artifacts.occurrences_of(parent, "parent")[:-1]):
            if self.try_edge(node, newest_child, EdgeType.DERIVED_FROM, role, e.seq):
                return
        self.edge(newest_parent, self._new_occurrence(child, e.seq), EdgeType.DERIVED_FROM, role, e.seq)
