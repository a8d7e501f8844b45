"""Lineage traversal: one options object (``LineageQuery``) shared by the CLI, SDK and server.

The walk is breadth-first over the store's ``adjacent`` primitive, one round trip per level. Every bound
that cuts a result (depth, limit) is reported in ``LineageResult.truncated``: a lineage tool that silently
drops ancestors is worse than none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .model import Artifact, NodeKind, NodeRef, Run
from .stores.protocol import AdjacentEdge, MetadataStore

Direction = Literal["up", "down"]


@dataclass(frozen=True, slots=True)
class LineageQuery:
    start: NodeRef
    direction: Direction = "up"
    max_depth: int | None = None
    limit: int | None = None
    as_of_seq: int | None = None


@dataclass(slots=True)
class LineageResult:
    query: LineageQuery
    root: int
    depth: dict[int, int] = field(default_factory=dict)  # node id -> hops from the root
    edges: list[tuple[int, int, str, str]] = field(default_factory=list)  # (parent, child, type, role)
    nodes: dict[int, Artifact | Run] = field(default_factory=dict)
    truncated: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        from .render import node_to_dict

        return {
            "root": _key(self.nodes[self.root]),
            "direction": "ancestors" if self.query.direction == "up" else "descendants",
            "count": len(self.depth) - 1,
            "truncated": self.truncated,
            "nodes": [dict(node_to_dict(self.nodes[n]), depth=d) for n, d in sorted(self.depth.items(),
                                                                                  key=lambda x: (x[1], x[0]))],
            "edges": [
                {"parent": _key(self.nodes[p]), "child": _key(self.nodes[c]), "type": t, "role": r or None}
                for p, c, t, r in self.edges
            ],
        }


def _key(node: Artifact | Run) -> str:
    return str(node.digest) if isinstance(node, Artifact) else f"run:{node.id}"


def node_ref(node: Artifact | Run) -> NodeRef:
    if isinstance(node, Artifact):
        return NodeRef(NodeKind.ARTIFACT, str(node.digest))
    return NodeRef(NodeKind.RUN, node.id)


def walk(store: MetadataStore, query: LineageQuery) -> LineageResult:
    root = store.node_id(query.start)
    if root is None:
        raise LookupError(f"{query.start} is not in the lineage graph")
    result = LineageResult(query, root, depth={root: 0})
    frontier = [root]
    level = 0
    while frontier:
        if query.max_depth is not None and level >= query.max_depth:
            beyond = {e.target for e in store.adjacent(frontier, query.direction, query.as_of_seq)}
            beyond -= result.depth.keys()
            if beyond:
                result.truncated.append(
                    f"depth limit {query.max_depth} reached: at least {len(beyond)} more node(s) lie beyond it"
                )
            break
        level += 1
        found: list[AdjacentEdge] = store.adjacent(frontier, query.direction, query.as_of_seq)
        next_frontier: list[int] = []
        for edge in found:
            parent, child = (edge.target, edge.source) if query.direction == "up" else (edge.source, edge.target)
            if edge.target not in result.depth:
                if query.limit is not None and len(result.depth) - 1 >= query.limit:
                    result.truncated.append(
                        f"limit {query.limit} reached: the result was cut; raise --limit to see more"
                    )
                    next_frontier = []
                    break
                result.depth[edge.target] = level
                next_frontier.append(edge.target)
            result.edges.append((parent, child, edge.type, edge.role))
        else:
            frontier = next_frontier
            continue
        break
    known = set(result.depth)
    result.edges = [e for e in result.edges if e[0] in known and e[1] in known]
    result.nodes = store.describe(list(known))
    return result
