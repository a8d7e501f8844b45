"""``LineageQuery`` (the one options object) and ``LineageResult`` (a lazy, pageable answer).

A result holds node ids and hop depths as numpy arrays; node records and typed edges are read from the store
only when asked for (``page``, ``nodes``, ``edges``), so a query that reaches a million nodes costs a BFS, not
a million row decodes. Every bound that cut a result (depth, limit) is listed in ``truncated`` with how much
it cut: a lineage tool that silently drops ancestors is worse than none.

Order is defined, not incidental: nodes come by (depth, node id), so ``limit`` keeps the same nodes on every
engine and every backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..model import Artifact, NodeKind, NodeRef, Run

if TYPE_CHECKING:
    import numpy as np

    from ..stores.protocol import MetadataStore

Direction = Literal["up", "down"]
RUN_KIND = "run"


@dataclass(frozen=True, slots=True)
class LineageQuery:
    """What to walk: from ``start``, ``up`` (ancestors) or ``down`` (descendants), at most ``max_depth`` hops,
    keeping at most ``limit`` nodes (besides the start), only nodes whose kind is in ``kinds`` (an artifact
    kind or ``run``; the walk still passes through the others), over the graph as it stood at ledger seq
    ``as_of_seq``."""

    start: NodeRef
    direction: Direction = "up"
    max_depth: int | None = None
    limit: int | None = None
    as_of_seq: int | None = None
    kinds: frozenset[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": str(self.start), "direction": self.direction, "max_depth": self.max_depth,
            "limit": self.limit, "as_of_seq": self.as_of_seq,
            "kinds": sorted(self.kinds) if self.kinds is not None else None,
        }


def node_key(node: Artifact | Run) -> str:
    """The stable text key of a node in output: its digest (``<digest>#<n>`` for the digest's n-th occurrence,
    n > 1: the same content recorded again downstream of itself), or ``run:<id>``."""
    if isinstance(node, Artifact):
        return str(node.digest) if node.occurrence == 1 else f"{node.digest}#{node.occurrence}"
    return f"run:{node.id}"


def dict_key(node: dict[str, Any]) -> str:
    """``node_key`` of a node record already in its JSON shape (``render.node_to_dict``)."""
    if node.get("type") != "artifact":
        return f"run:{node['id']}"
    occurrence = node.get("occurrence") or 1
    return str(node["digest"]) if occurrence == 1 else f"{node['digest']}#{occurrence}"


def node_ref(node: Artifact | Run) -> NodeRef:
    if isinstance(node, Artifact):
        return NodeRef(NodeKind.ARTIFACT, str(node.digest))
    return NodeRef(NodeKind.RUN, node.id)


def node_kind(node: Artifact | Run) -> str:
    return node.kind.value if isinstance(node, Artifact) else RUN_KIND


@dataclass(eq=False)
class LineageResult:
    """The answer to a ``LineageQuery``. ``ids``/``depths`` are ordered by (depth, id); when nothing had to be
    cut, the engine hands over the raw BFS (order + predecessor tree) and hop depths and ordering are computed
    on first use, so asking only for the size or the members of a huge result costs a BFS and no more."""

    query: LineageQuery
    root: int
    store: MetadataStore
    truncated: list[str] = field(default_factory=list)
    engine: str = "memory"
    reachable: int | None = None  # nodes reachable before any cut (root excluded), when the engine knows
    _ids: np.ndarray | None = None
    _depths: np.ndarray | None = None
    _bfs: tuple[np.ndarray, np.ndarray] | None = None  # (BFS order, predecessors) awaiting depths
    _nodes: dict[int, Artifact | Run] | None = None
    _edges: list[tuple[int, int, str, str]] | None = None

    # ------------------------------------------------------------ sizes and views

    @property
    def ids(self) -> np.ndarray:
        """Node ids, root first, then by (depth, id)."""
        self._materialise()
        assert self._ids is not None
        return self._ids

    @property
    def depths(self) -> np.ndarray:
        """Hops from the root, aligned with ``ids``."""
        self._materialise()
        assert self._depths is not None
        return self._depths

    def members(self) -> np.ndarray:
        """Node ids in no particular order (no depth or ordering work)."""
        return self._bfs[0] if self._bfs is not None else self.ids

    def _materialise(self) -> None:
        if self._bfs is not None:
            from .levels import bfs_levels

            self._ids, self._depths = bfs_levels(*self._bfs)
            self._bfs = None

    @property
    def count(self) -> int:
        """Nodes in the result besides the root."""
        return len(self.members()) - 1

    @property
    def depth(self) -> dict[int, int]:
        """node id -> hops from the root (the whole result as a dict; use ``page`` for huge ones)."""
        return {int(i): int(d) for i, d in zip(self.ids.tolist(), self.depths.tolist(), strict=True)}

    def id_list(self) -> list[int]:
        return [int(i) for i in self.ids.tolist()]

    @property
    def nodes(self) -> dict[int, Artifact | Run]:
        """Every node's record, read from the store on first use."""
        if self._nodes is None:
            from .records import describe

            self._nodes = describe(self.store, self.id_list(), self.query.as_of_seq)
        return self._nodes

    @property
    def edges(self) -> list[tuple[int, int, str, str]]:
        """Typed edges (parent, child, type, role) with both ends in the result, as of the query's seq.

        The subgraph is induced: with both ends kept, an edge lies on a lineage path to (or from) the root."""
        if self._edges is None:
            from .records import induced_edges

            up = self.query.direction == "up"
            self._edges = sorted(
                {
                    (far, near, t, r) if up else (near, far, t, r)
                    for near, far, t, r in induced_edges(
                        self.store, self.id_list(), self.query.direction, self.query.as_of_seq
                    )
                }
            )
        return self._edges

    # ------------------------------------------------------------ output

    def page(self, offset: int = 0, size: int = 1000) -> list[dict[str, Any]]:
        """Node records ``offset .. offset+size`` in result order, each with its depth (for paging APIs)."""
        from ..render import node_to_dict
        from .records import describe

        ids = self.id_list()[offset: offset + size]
        depths = self.depths[offset: offset + size].tolist()
        described = (
            self._nodes if self._nodes is not None else describe(self.store, ids, self.query.as_of_seq)
        )
        return [dict(node_to_dict(described[i]), depth=int(d)) for i, d in zip(ids, depths, strict=True)]

    def iter_node_dicts(self, page_size: int = 2000) -> Iterator[dict[str, Any]]:
        for offset in range(0, len(self.ids), page_size):
            yield from self.page(offset, page_size)

    def keys(self) -> dict[int, str]:
        """node id -> output key (digest or run:<id>) for every node in the result."""
        return {i: node_key(n) for i, n in self.nodes.items()}

    def header(self) -> dict[str, Any]:
        from .records import describe

        root = (
            self._nodes[self.root]
            if self._nodes is not None
            else describe(self.store, [self.root])[self.root]
        )
        return {
            "root": node_key(root),
            "direction": "ancestors" if self.query.direction == "up" else "descendants",
            "query": self.query.to_dict(),
            "count": self.count,
            "reachable": self.reachable,
            "truncated": list(self.truncated),
            "engine": self.engine,
        }

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape (docs/lineage-queries.md; schema in ``mlineage.formats``)."""
        keys = self.keys()
        out = self.header()
        out["nodes"] = list(self.iter_node_dicts())
        out["edges"] = [
            {"parent": keys[p], "child": keys[c], "type": t, "role": r or None} for p, c, t, r in self.edges
        ]
        return out
