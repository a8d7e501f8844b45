"""``path A B``: the chains of runs and artifacts that lead from one node to another.

The nodes on some chain are exactly Desc(A) ∩ Anc(B): two engine walks and an intersection. Chains are then
enumerated over that (usually small) subgraph, shortest first, up to ``max_paths``; the total number of chains
is counted by dynamic programming, so the output can say "20 of 1,536 chains shown".
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..model import Artifact, Run
from .query import LineageQuery, node_key, node_ref
from .records import as_of_note, describe, induced_edges

if TYPE_CHECKING:
    from .engine import GraphEngine

MAX_ENUMERATION_STEPS = 200_000


@dataclass
class PathResult:
    source: Artifact | Run  # where the chains start (the ancestor)
    target: Artifact | Run  # where they end (the descendant)
    swapped: bool  # True when the user's B is the ancestor of their A
    nodes: dict[int, Artifact | Run] = field(default_factory=dict)
    edges: list[tuple[int, int, str, str]] = field(default_factory=list)
    paths: list[list[int]] = field(default_factory=list)
    total_paths: int | None = 0
    truncated: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.paths)

    def to_dict(self) -> dict[str, Any]:
        from ..render import node_to_dict

        keys = {i: node_key(n) for i, n in self.nodes.items()}
        return {
            "from": node_key(self.source), "to": node_key(self.target), "swapped": self.swapped,
            "found": self.found, "total_paths": self.total_paths, "shown_paths": len(self.paths),
            "truncated": list(self.truncated),
            "paths": [[keys[i] for i in p] for p in self.paths],
            "nodes": [node_to_dict(self.nodes[i]) for i in sorted(self.nodes)],
            "edges": [{"parent": keys[p], "child": keys[c], "type": t, "role": r or None}
                      for p, c, t, r in self.edges],
        }


def find_paths(engine: GraphEngine, a: Artifact | Run, b: Artifact | Run, as_of_seq: int | None,
               max_paths: int = 20) -> PathResult:
    store = engine.store
    # Chains run from the source's first occurrence to the target's newest: a digest's occurrences are
    # chained oldest to newest, so that pair joins any occurrence of one to any occurrence of the other.
    down_a = engine.walk(LineageQuery(node_ref(a), "down", as_of_seq=as_of_seq))
    b_id = store.node_id(node_ref(b), newest=True, as_of_seq=as_of_seq)
    source, target, swapped, down = a, b, False, down_a
    if b_id is None or b_id not in set(down_a.id_list()):
        down_b = engine.walk(LineageQuery(node_ref(b), "down", as_of_seq=as_of_seq))
        a_id = store.node_id(node_ref(a), newest=True, as_of_seq=as_of_seq)
        if a_id in set(down_b.id_list()):
            source, target, swapped, down = b, a, True, down_b
        else:
            return PathResult(a, b, False, nodes={down_a.root: a}, total_paths=0)
    up = engine.walk(LineageQuery(node_ref(target), "up", as_of_seq=as_of_seq))
    on_path = np.intersect1d(down.ids, up.ids)
    members = {int(i) for i in on_path.tolist()}
    result = PathResult(source, target, swapped)
    children: dict[int, list[tuple[int, str, str]]] = {}
    for parent, child, type_, role in induced_edges(store, sorted(members), "down", as_of_seq):
        result.edges.append((parent, child, type_, role))
        children.setdefault(parent, []).append((child, type_, role))
    result.edges.sort()
    result.nodes = describe(store, sorted(members), as_of_seq)
    note = as_of_note(store, as_of_seq)
    if note:
        result.truncated.append(note)
    start, end = down.root, up.root
    result.total_paths = _count_paths(children, members, start, end)
    result.paths = _enumerate(children, start, end, max_paths, result.truncated)
    if result.total_paths is not None and result.total_paths > len(result.paths):
        result.truncated.append(
            f"showing {len(result.paths):,} of {result.total_paths:,} chains; raise --max-paths to see more")
    return result


def _count_paths(children: dict[int, list[tuple[int, str, str]]], members: set[int], start: int,
                 end: int) -> int | None:
    """Number of distinct chains (per distinct node sequence) start -> end; None if the subgraph has a
    cycle."""
    succ = {v: sorted({c for c, _t, _r in children.get(v, [])}) for v in members}
    indegree = {v: 0 for v in members}
    for v in members:
        for c in succ[v]:
            indegree[c] += 1
    order = []
    queue = deque(v for v, d in indegree.items() if d == 0)
    while queue:
        v = queue.popleft()
        order.append(v)
        for c in succ[v]:
            indegree[c] -= 1
            if indegree[c] == 0:
                queue.append(c)
    if len(order) != len(members):
        return None
    ways = {v: 0 for v in members}
    ways[end] = 1
    for v in reversed(order):
        if v != end:
            ways[v] = sum(ways[c] for c in succ[v])
    return ways[start]


def _enumerate(children: dict[int, list[tuple[int, str, str]]], start: int, end: int, max_paths: int,
               truncated: list[str]) -> list[list[int]]:
    """Simple chains start -> end, shortest first (BFS over partial chains), at most ``max_paths``."""
    succ = {v: sorted({c for c, _t, _r in cs}) for v, cs in children.items()}
    found: list[list[int]] = []
    queue: deque[list[int]] = deque([[start]])
    steps = 0
    while queue and len(found) < max_paths:
        steps += 1
        if steps > MAX_ENUMERATION_STEPS:
            truncated.append(f"chain enumeration stopped after {MAX_ENUMERATION_STEPS:,} steps")
            break
        chain = queue.popleft()
        last = chain[-1]
        if last == end:
            found.append(chain)
            continue
        for c in succ.get(last, []):
            if c not in chain:
                queue.append(chain + [c])
    return found
