"""Licence obligations through the lineage graph: what an artifact inherits from every ancestor, and by
which path.

One pass over the ancestry: a single breadth-first search on the lineage engine's in-memory CSR snapshot
(scipy, in C) gives the ancestors and a predecessor tree; the licensed artifacts are one query over the
``artifact_licences`` table joined to node ids, intersected with the ancestry as a numpy mask; each licensed
ancestor's path to the artifact is read off the predecessor tree (the shortest one). Only the nodes on those
paths are described. An artifact's effective conditions are the ``both`` of every licence in its ancestry,
so conditions propagate to every descendant: any model downstream of a non-commercial dataset is
non-commercial, however many runs lie between.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError
from ..graph.query import node_key, node_ref
from ..model import Artifact, Run
from .licences import UNSPECIFIED, Conditions, conditions_of

if TYPE_CHECKING:
    import numpy as np

    from ..graph.engine import GraphEngine
    from ..stores.protocol import MetadataStore
    from .facts import SqlFacts

# artifacts of these kinds with no parent are sources whose licence matters (code and environment manifests
# are the run's own logic and context)
SOURCE_EXEMPT_KINDS = frozenset({"code", "environment", "metrics", "config", "run"})
MAX_UNLICENSED_LISTED = 20
MAX_PATH_NODES = 12
ELIDED = -1  # a path's elided middle


@dataclass(frozen=True, slots=True)
class Obligation:
    """One licensed ancestor (or the artifact itself) and what it brings."""

    key: str  # digest of the licensed artifact
    label: str  # name@version or short digest
    licence: str
    conditions: Conditions
    path: tuple[str, ...]  # labels from the licensed ancestor down to the artifact (runs as job names)
    hops: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "digest": self.key,
            "label": self.label,
            "licence": self.licence,
            "hops": self.hops,
            "conditions": self.conditions.to_dict(),
            "path": list(self.path),
        }


@dataclass
class LicenceReport:
    """An artifact's effective licence conditions, with the ancestor behind each obligation."""

    root: str
    label: str
    effective: Conditions
    obligations: list[Obligation]
    unlicensed: list[Obligation] = field(default_factory=list)  # source artifacts with no licence recorded
    unlicensed_count: int = 0
    ancestors: int = 0

    def bringing(self, what: str) -> list[Obligation]:
        """The obligations that bring ``non-commercial``/``academic`` use, ``attribution`` or
        ``share_alike``."""
        if what in ("attribution", "share_alike"):
            return [o for o in self.obligations if getattr(o.conditions, what)]
        return [o for o in self.obligations if o.conditions.use == what]

    def to_dict(self) -> dict[str, Any]:
        return {
            "artifact": self.root,
            "label": self.label,
            "effective": self.effective.to_dict(),
            "ancestors": self.ancestors,
            "obligations": [o.to_dict() for o in self.obligations],
            "unlicensed_sources": [o.to_dict() for o in self.unlicensed],
            "unlicensed_count": self.unlicensed_count,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LicenceReport:
        def cond(c: dict[str, Any]) -> Conditions:
            return Conditions(
                c["use"],
                c["attribution"],
                c["share_alike"],
                tuple(c["classified_as"]),
                tuple(c["unknown_ids"]),
            )

        def ob(o: dict[str, Any]) -> Obligation:
            return Obligation(
                o["digest"], o["label"], o["licence"], cond(o["conditions"]), tuple(o["path"]), o["hops"]
            )

        return cls(
            d["artifact"],
            d["label"],
            cond(d["effective"]),
            [ob(o) for o in d["obligations"]],
            [ob(o) for o in d["unlicensed_sources"]],
            d["unlicensed_count"],
            d["ancestors"],
        )


def label_of(node: Artifact | Run) -> str:
    return node.label if isinstance(node, Artifact) else f"run {node.job}"


def ancestry(engine: GraphEngine, root: int, as_of_seq: int | None) -> tuple[np.ndarray, np.ndarray, Any]:
    """(BFS order, predecessors, snapshot) of ``root``'s ancestry on the engine's snapshot."""
    import numpy as np

    snap = engine.snapshot()
    if root >= snap.n:
        return np.array([root], np.int32), np.full(root + 1, -9999, np.int32), snap
    order, pred = snap.breadth_first("up", as_of_seq, root)
    return order, pred, snap


def path_ids(pred: np.ndarray, node: int, root: int, limit: int = MAX_PATH_NODES) -> list[int]:
    """node, its successor towards root, ..., root (the predecessor tree points from root outwards). A path
    longer than ``limit`` nodes keeps its first ``limit - 2`` nodes, then ``ELIDED``, then root: a licence
    100,000 runs upstream is explained without describing every step between."""
    out = [node]
    while out[-1] != root:
        if len(out) == limit - 1:
            return [*out, ELIDED, root]
        out.append(int(pred[out[-1]]))
    return out


def licence_report(
    engine: GraphEngine,
    store: MetadataStore,
    facts: SqlFacts,
    node: Artifact | Run,
    as_of_seq: int | None = None,
) -> LicenceReport:
    """The licence conditions ``node`` inherits from its whole ancestry (see the module docstring)."""
    import numpy as np

    root = store.node_id(node_ref(node), newest=True, as_of_seq=as_of_seq)  # up from the newest occurrence
    if root is None:
        raise NotFoundError(f"{node_key(node)} is not in the lineage graph")
    order, pred, snap = ancestry(engine, root, as_of_seq)
    member = np.zeros(max(snap.n, root + 1), bool)
    member[order] = True
    licensed = facts.licensed_nodes(as_of_seq)
    found: list[tuple[int, str, str]] = [
        (i, d, lic) for i, d, lic in licensed if i < len(member) and member[i]
    ]
    up = snap.adjacency("up", as_of_seq)
    # sources without a licence: ancestors with no parent whose kind is not exempt
    indptr = np.asarray(up.indptr)
    ids = order[order < len(indptr) - 1]
    no_parent = ids[(indptr[ids + 1] - indptr[ids]) == 0]
    exempt = snap.kind_codes(SOURCE_EXEMPT_KINDS)
    no_parent = no_parent[~np.isin(snap.kinds[no_parent], exempt)] if len(no_parent) else no_parent
    licensed_ids = {i for i, _, _ in found}
    bare = [int(i) for i in no_parent if int(i) not in licensed_ids]
    paths = {i: path_ids(pred, i, root) for i in [i for i, _, _ in found] + bare[:MAX_UNLICENSED_LISTED]}
    hops = {i: len(p) - 1 for i, p in paths.items()}
    if any(ELIDED in p for p in paths.values()):  # long paths: their hop counts from the BFS levels
        from ..graph.levels import bfs_depths

        depth = np.zeros(len(member), np.int64)
        depth[order] = bfs_depths(order, pred)
        hops = {i: int(depth[i]) for i in paths}
    wanted = {n for p in paths.values() for n in p if n != ELIDED} | {root}
    described = store.node_records(sorted(wanted), as_of_seq)

    def labels(i: int) -> tuple[str, ...]:
        shown = len(paths[i]) - 3  # hops between the nodes kept before the elision
        return tuple(f"... {hops[i] - shown} more hop(s) ..." if n == ELIDED else label_of(described[n])
                     for n in paths[i])

    cache: dict[str, Conditions] = {}
    obligations = []
    for i, digest, licence in sorted(found, key=lambda f: (hops[f[0]], f[0])):
        conditions = cache.get(licence) or cache.setdefault(licence, conditions_of(licence))
        obligations.append(
            Obligation(
                digest,
                label_of(described[i]),
                licence,
                conditions,
                labels(i),
                hops[i],
            )
        )
    unlicensed = [
        Obligation(
            node_key(described[i]),
            label_of(described[i]),
            "",
            UNSPECIFIED,
            labels(i),
            hops[i],
        )
        for i in bare[:MAX_UNLICENSED_LISTED]
    ]
    effective = Conditions("commercial", False, False)
    for o in obligations:
        effective = effective.both(o.conditions)
    return LicenceReport(
        node_key(node),
        label_of(described[root]),
        effective,
        obligations,
        unlicensed,
        len(bare),
        len(order) - 1,
    )
