"""Answering a ``LineageQuery``: the in-memory engine (CSR snapshot + scipy's C breadth-first search), with
the store's recursive CTE as the fallback.

How a query runs on the in-memory engine:

* no depth bound: one ``breadth_first_order`` over the (as-of masked) CSR, in C; hop depths and the
  (depth, id) order come from the BFS order and predecessor tree (``levels``), and only when the output needs
  them;
* a depth bound of at most ``LEVEL_BFS_MAX_DEPTH``: a level-by-level numpy BFS that stops at the bound (the
  work is bounded by the depth, and the size of the next level is reported as what the bound cut);
* ``limit`` keeps the first nodes in (depth, id) order and reports how many more were reachable.

Both engines terminate on any data (a visited set in the BFS, ``UNION`` in the CTE), cycles included.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..errors import NotFoundError, ValidationError
from ..model import NodeKind, NodeRef
from .levels import bfs_levels, order_by_depth
from .query import LineageQuery, LineageResult, node_kind
from .records import as_of_note
from .snapshot import Snapshot, StaleSnapshot

if TYPE_CHECKING:
    from ..stores.protocol import MetadataStore

EngineMode = Literal["auto", "memory", "sql"]
LEVEL_BFS_MAX_DEPTH = 32
ENGINE_ENV = "MLINEAGE_GRAPH_ENGINE"
CACHE_ENV = "MLINEAGE_GRAPH_CACHE"  # a folder for snapshot caches, or "off"
CACHE_MIN_EDGES = 50_000  # smaller graphs load from the store faster than the cache is worth
ONE_SHOT_SQL_EDGES = 200_000  # above this, a one-shot process without a cache asks the database instead


class GraphEngine:
    """One per store (the Client holds it): the snapshot is loaded on first use and refreshed per query."""

    def __init__(self, store: MetadataStore, mode: EngineMode | None = None) -> None:
        self.store = store
        chosen = mode or os.environ.get(ENGINE_ENV, "auto")
        if chosen not in ("auto", "memory", "sql"):
            raise ValidationError(ENGINE_ENV, f"{chosen!r} is not one of auto, memory, sql")
        self.mode: EngineMode = chosen  # type: ignore[assignment]
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self._node_ids: dict[tuple[NodeRef, bool, int | None], tuple[int, int | None]] = {}
        self.one_shot = False  # set by the CLI: this process answers one query and exits

    def snapshot(self) -> Snapshot:
        """The fresh in-memory snapshot (loaded on first call — from the on-disk cache when there is a valid
        one — then refreshed incrementally)."""
        with self._lock:
            cold = self._snapshot is None
            if self._snapshot is None:
                self._snapshot = self._from_cache() or Snapshot()
        start_seq = self._snapshot.seq
        try:
            added = self._snapshot.refresh(self.store)
        except StaleSnapshot:  # renumbered projections (a rebuild): start again from the store
            with self._lock:
                self._snapshot = Snapshot()
                self._node_ids.clear()
            cold, start_seq = True, 0
            added = self._snapshot.refresh(self.store)
        if added >= CACHE_MIN_EDGES or (
            cold and start_seq == 0 and self._snapshot.edge_count >= CACHE_MIN_EDGES
        ):
            self._to_cache(self._snapshot)
        return self._snapshot

    def cache_folder(self) -> Path | None:
        """Where the snapshot is cached between processes: $MLINEAGE_GRAPH_CACHE/<store>, or next to a SQLite
        database file (``<db>.graph``); None (no cache) for other stores without the variable."""
        import hashlib

        root = os.environ.get(CACHE_ENV)
        uri = getattr(self.store, "uri", "")
        if root == "off":
            return None
        if root:
            return Path(root) / hashlib.sha256(uri.encode()).hexdigest()[:16]
        if uri.startswith("sqlite:///") and ":memory:" not in uri:
            return Path(uri[len("sqlite:///"):].split("?", 1)[0] + ".graph")
        return None

    def _ledger_hash(self, seq: int) -> str | None:
        for event in self.store.iter_events(after_seq=seq - 1, batch=1):
            return event.hash if event.seq == seq else None
        return None

    def _from_cache(self) -> Snapshot | None:
        """A cached snapshot, only if the ledger still has the same event at its seq (same history)."""
        from .snapshot import load

        folder = self.cache_folder()
        if folder is None or not folder.exists():
            return None
        found = load(folder)
        if found is None:
            return None
        snap, ledger_hash = found
        if snap.seq > self.store.head()[0] or self._ledger_hash(snap.seq) != ledger_hash:
            return None
        return snap

    def _to_cache(self, snap: Snapshot) -> None:
        from .snapshot import save

        folder = self.cache_folder()
        ledger_hash = self._ledger_hash(snap.seq) if folder is not None else None
        if folder is None or ledger_hash is None:
            return
        try:
            save(snap, folder, ledger_hash)
        except OSError:  # a read-only or full disk costs speed, never an answer
            pass

    def _use_sql_now(self) -> bool:
        """``auto`` in a one-shot process (the CLI): with no snapshot in memory and no usable on-disk cache, a
        large graph is answered by the recursive CTE, which costs less than loading every edge for one
        query."""
        if self.mode == "sql":
            return True
        if self.mode == "memory" or not self.one_shot or self._snapshot is not None:
            return False
        with self._lock:
            cached = self._from_cache()
            if cached is not None:
                self._snapshot = cached
                return False
        return self.store.edge_count_estimate() > ONE_SHOT_SQL_EDGES

    def walk(self, query: LineageQuery) -> LineageResult:
        _check(query)
        snap = None if self._use_sql_now() else self.snapshot()  # first: a renumbering clears the id cache
        root = self._root(query, snap)
        if root is None:
            raise NotFoundError(f"{query.start} is not in the lineage graph")
        if query.as_of_seq is not None and not _existed(self.store, root, query.as_of_seq):
            raise NotFoundError(f"{query.start} did not exist yet at ledger seq {query.as_of_seq}")
        result = (
            _walk_sql(self.store, query, root)
            if snap is None
            else _walk_memory(self.store, snap, query, root)
        )
        note = as_of_note(self.store, query.as_of_seq)
        if note:
            result.truncated.append(note)
        return result


    def _root(self, query: LineageQuery, snap: Snapshot | None) -> int | None:
        """Where the walk starts. A digest recorded again downstream of itself has several occurrences,
        chained oldest to newest by SAME_CONTENT edges (``stores/projections/graph.py``): walking down from
        the first reaches everything that used any of them, walking up from the newest (as of the query's
        seq) reaches the ancestors of all of them. The newest changes with writes, so its cache entry holds
        only while the snapshot's seq does (the first one, and a run's node, hold while the anchor check
        passes)."""
        newest = query.direction == "up" and query.start.kind is NodeKind.ARTIFACT
        key = (query.start, newest, query.as_of_seq if newest else None)
        valid = snap.seq if newest and snap is not None and query.as_of_seq is None else None
        cached = self._node_ids.get(key) if snap is not None else None
        if cached is not None and cached[1] == valid:
            return cached[0]
        root = (self.store.node_id(query.start, newest=True, as_of_seq=query.as_of_seq) if newest
                else self.store.node_id(query.start))
        if root is not None and snap is not None:
            if len(self._node_ids) >= 100_000:
                self._node_ids.clear()
            self._node_ids[key] = (root, valid)
        return root


def walk(store: MetadataStore, query: LineageQuery, engine: GraphEngine | None = None) -> LineageResult:
    return (engine or GraphEngine(store)).walk(query)


def _check(query: LineageQuery) -> None:
    if query.direction not in ("up", "down"):
        raise ValidationError("direction", f"{query.direction!r} must be 'up' or 'down'")
    if query.max_depth is not None and query.max_depth < 0:
        raise ValidationError("depth", f"{query.max_depth} is negative", "pass 0 or more")
    if query.limit is not None and query.limit < 1:
        raise ValidationError("limit", f"{query.limit} is below 1", "pass 1 or more")


def _existed(store: MetadataStore, node_id: int, as_of_seq: int) -> bool:
    seq = store.node_created_seq(node_id)
    return seq is None or seq <= as_of_seq


# ---------------------------------------------------------------- in memory


def level_bfs(indptr: np.ndarray, indices: np.ndarray, seq: np.ndarray, root: int, max_depth: int,
              as_of_seq: int | None, n: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Level-synchronous BFS to ``max_depth`` hops; returns (ids, depths, size of the next level beyond)."""
    seen = np.zeros(n, bool)
    seen[root] = True
    frontier = np.array([root], np.int64)
    ids = [frontier]
    depths = [np.zeros(1, np.int64)]
    level = 0
    while frontier.size:
        starts = indptr[frontier].astype(np.int64)
        counts = indptr[frontier + 1].astype(np.int64) - starts
        total = int(counts.sum())
        if total == 0:
            return np.concatenate(ids), np.concatenate(depths), 0
        offsets = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
        found = indices[offsets].astype(np.int64)
        if as_of_seq is not None:
            found = found[seq[offsets] <= as_of_seq]
        found = np.unique(found[~seen[found]])
        if level >= max_depth:
            return np.concatenate(ids), np.concatenate(depths), int(found.size)
        level += 1
        seen[found] = True
        frontier = found
        ids.append(found)
        depths.append(np.full(found.size, level, np.int64))
    return np.concatenate(ids), np.concatenate(depths), 0


def _walk_memory(store: MetadataStore, snap: Snapshot, query: LineageQuery, root: int) -> LineageResult:
    truncated: list[str] = []
    beyond = 0
    if root >= snap.n:  # a node newer than every edge: nothing to walk
        ids, depths = np.array([root], np.int64), np.zeros(1, np.int64)
    elif query.max_depth is not None and query.max_depth <= LEVEL_BFS_MAX_DEPTH:
        adj = snap.up if query.direction == "up" else snap.down
        ids, depths, beyond = level_bfs(
            adj.indptr,
            adj.indices,
            adj.seq,
            root,
            query.max_depth,
            query.as_of_seq if query.as_of_seq is not None and query.as_of_seq < snap.seq else None,
            snap.n,
        )
    else:
        order, pred = snap.breadth_first(query.direction, query.as_of_seq, root)
        if query.max_depth is None and query.kinds is None and (query.limit is None or len(order) - 1 <=
                                                                  query.limit):
            # nothing to cut: depths and (depth, id) order are computed when first asked for
            return LineageResult(query, root, store, [], "memory", len(order) - 1, _bfs=(order, pred))
        ids, depths = bfs_levels(order, pred)
        if query.max_depth is not None:
            keep = depths <= query.max_depth
            beyond = int(len(ids) - keep.sum())
            ids, depths = ids[keep], depths[keep]
    if beyond:
        truncated.append(_depth_message(query.max_depth, beyond, exact=query.max_depth is not None
                                        and query.max_depth > LEVEL_BFS_MAX_DEPTH))
    reachable = None if beyond else len(ids) - 1
    if query.kinds is not None and root < snap.n:
        keep = np.isin(snap.kinds[ids], snap.kind_codes(query.kinds))
        keep[0] = True
        ids, depths = ids[keep], depths[keep]
    return _finish(store, query, root, ids, depths, truncated, "memory", reachable)


def _depth_message(max_depth: int | None, beyond: int, exact: bool) -> str:
    amount = f"{beyond:,} more node(s) lie" if exact else f"at least {beyond:,} more node(s) lie"
    return f"depth limit {max_depth} reached: {amount} beyond it; raise --depth to see them"


def _finish(store: MetadataStore, query: LineageQuery, root: int, ids: np.ndarray, depths: np.ndarray,
            truncated: list[str], engine: str, reachable: int | None) -> LineageResult:
    """Order by (depth, id), apply ``limit``, report the cut."""
    ids, depths = order_by_depth(ids, depths)
    if query.limit is not None and len(ids) - 1 > query.limit:
        cut = len(ids) - 1 - query.limit
        ids, depths = ids[: query.limit + 1], depths[: query.limit + 1]
        truncated.append(f"limit {query.limit:,} reached: {cut:,} more matching node(s) were cut; "
                         "raise --limit to see them")
    return LineageResult(query, root, store, truncated, engine, reachable, _ids=ids, _depths=depths)


# ---------------------------------------------------------------- SQL fallback


def _walk_sql(store: MetadataStore, query: LineageQuery, root: int) -> LineageResult:
    """The fallback: one recursive CTE for the reachable set (or level-by-level ``adjacent`` under a depth
    bound), then depths by BFS over the induced edges, in Python."""
    truncated: list[str] = []
    beyond = 0
    if query.max_depth is not None and query.max_depth <= LEVEL_BFS_MAX_DEPTH:
        depth_of = {root: 0}
        frontier = [root]
        for level in range(1, query.max_depth + 2):
            if not frontier:
                break
            found = {e.target for e in store.adjacent(frontier, query.direction, query.as_of_seq)}
            fresh = sorted(found - depth_of.keys())
            if level > query.max_depth:
                beyond = len(fresh)
                break
            for node in fresh:
                depth_of[node] = level
            frontier = fresh
    else:
        reach = store.reachable(root, query.direction, query.as_of_seq)
        members = set(reach)
        children: dict[int, list[int]] = {}
        for e in store.adjacent(reach, query.direction, query.as_of_seq):
            if e.target in members:
                children.setdefault(e.source, []).append(e.target)
        depth_of = {root: 0}
        frontier = [root]
        level = 0
        while frontier:
            level += 1
            nxt = []
            for node in frontier:
                for target in children.get(node, ()):
                    if target not in depth_of:
                        depth_of[target] = level
                        nxt.append(target)
            frontier = nxt
        if query.max_depth is not None:
            beyond = sum(1 for d in depth_of.values() if d > query.max_depth)
            depth_of = {i: d for i, d in depth_of.items() if d <= query.max_depth}
    if beyond:
        truncated.append(_depth_message(query.max_depth, beyond, exact=query.max_depth is not None
                                        and query.max_depth > LEVEL_BFS_MAX_DEPTH))
    reachable = None if beyond else len(depth_of) - 1
    if query.kinds is not None:
        from .records import describe

        described = describe(store, list(depth_of))
        depth_of = {i: d for i, d in depth_of.items()
                    if i == root or (i in described and node_kind(described[i]) in query.kinds)}
    ids = np.fromiter(depth_of.keys(), np.int64, len(depth_of))
    depths = np.fromiter(depth_of.values(), np.int64, len(depth_of))
    return _finish(store, query, root, ids, depths, truncated, "sql", reachable)
