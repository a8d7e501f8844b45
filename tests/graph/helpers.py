"""Random lineage DAGs written through the ledger, and a plain in-memory reference for every query."""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field

from mlineage import events as ev
from mlineage.events import NewEvent

_COUNTER = itertools.count()


def run_id(tag: str, i: int) -> str:
    return f"{tag}-run{i:04d}x"  # fixed width and a tail: no run id is a prefix of another


def digest(tag: str, i: int) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(f"{tag}/{i}".encode()).hexdigest()


@dataclass
class Graph:
    """Nodes 0..n-1 (``kinds[i]``: an artifact kind or "run") and typed edges, appended in batches."""

    tag: str
    kinds: list[str]
    edges: list[tuple[int, int, str]]  # (parent, child, type)
    batch_of_edge: list[int]
    keys: list[str] = field(default_factory=list)

    def key(self, i: int) -> str:
        return digest(self.tag, i) if self.kinds[i] != "run" else "run:" + run_id(self.tag, i)

    def ref(self, i: int) -> str:
        return self.key(i)


def build(kinds: list[str], parents: list[list[int]], batches: int = 1) -> Graph:
    """``parents[i]``: indexes (< i) of node i's parents; incompatible pairs (run -> run) are skipped."""
    tag = f"g{next(_COUNTER)}"
    edges: list[tuple[int, int, str]] = []
    for child, ps in enumerate(parents):
        for p in sorted(set(ps)):
            if kinds[p] == "run" and kinds[child] == "run":
                continue
            type_ = "USED" if kinds[child] == "run" else "PRODUCED" if kinds[p] == "run" else "DERIVED_FROM"
            edges.append((p, child, type_))
    per = max(1, -(-len(edges) // batches)) if edges else 1
    batch_of_edge = [i // per for i in range(len(edges))]
    return Graph(tag, kinds, edges, batch_of_edge)


def node_events(g: Graph) -> list[NewEvent]:
    out = []
    for i, kind in enumerate(g.kinds):
        if kind == "run":
            out.append(
                NewEvent(
                    ev.RUN_STARTED,
                    {
                        "run_id": run_id(g.tag, i),
                        "job": f"job{i % 3}",
                        "kind": "train",
                        "params": {"p": i % 2},
                    },
                )
            )
        else:
            out.append(NewEvent(ev.ARTIFACT_RECORDED, {"digest": digest(g.tag, i), "kind": kind, "size": 1}))
    return out


def edge_event(g: Graph, p: int, c: int, type_: str) -> NewEvent:
    if type_ == "USED":
        return NewEvent(ev.ARTIFACT_USED, {"run_id": run_id(g.tag, c), "digest": digest(g.tag, p)})
    if type_ == "PRODUCED":
        return NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": run_id(g.tag, p), "digest": digest(g.tag, c)})
    return NewEvent(ev.ARTIFACT_DERIVED, {"parent": digest(g.tag, p), "child": digest(g.tag, c)})


def write(client: object, g: Graph) -> list[int]:
    """Append the nodes, then each batch of edges; returns the ledger seq after each batch."""
    client.append(node_events(g))  # type: ignore[attr-defined]
    seqs = []
    for b in range(max(g.batch_of_edge, default=-1) + 1):
        events = [
            edge_event(g, p, c, t) for (p, c, t), eb in zip(g.edges, g.batch_of_edge, strict=True) if eb == b
        ]
        client.append(events)  # type: ignore[attr-defined]
        seqs.append(client.store.head()[0])  # type: ignore[attr-defined]
    return seqs or [client.store.head()[0]]  # type: ignore[attr-defined]


def reference(g: Graph, start: int, direction: str, max_depth: int | None = None, limit: int | None = None,
              kinds: set[str] | None = None, upto_batch: int | None = None) -> tuple[dict[int, int], bool]:
    """(node -> depth, was the result cut) by plain BFS, with the documented semantics: nodes ordered by
    (depth, node id) — node ids follow creation order here — kinds filter after the walk, limit last."""
    adj: dict[int, set[int]] = {}
    for (p, c, _t), b in zip(g.edges, g.batch_of_edge, strict=True):
        if upto_batch is not None and b > upto_batch:
            continue
        src, dst = (c, p) if direction == "up" else (p, c)
        adj.setdefault(src, set()).add(dst)
    depth = {start: 0}
    queue = deque([start])
    cut = False
    while queue:
        v = queue.popleft()
        for w in adj.get(v, ()):
            if w in depth:
                continue
            if max_depth is not None and depth[v] + 1 > max_depth:
                cut = True
                continue
            depth[w] = depth[v] + 1
            queue.append(w)
    if kinds is not None:
        depth = {v: d for v, d in depth.items() if v == start or g.kinds[v] in kinds}
    if limit is not None and len(depth) - 1 > limit:
        cut = True
        depth = dict(sorted(depth.items(), key=lambda x: (x[1], x[0]))[: limit + 1])
    return depth, cut


def count_paths(g: Graph, a: int, b: int) -> int:
    succ: dict[int, set[int]] = {}
    for p, c, _t in g.edges:
        succ.setdefault(p, set()).add(c)
    memo: dict[int, int] = {}

    def ways(v: int) -> int:
        if v == b:
            return 1
        if v not in memo:
            memo[v] = sum(ways(w) for w in succ.get(v, ()))
        return memo[v]

    return ways(a)
