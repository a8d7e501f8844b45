"""Query results as JSON and back: what a server sends and what the remote client rebuilds from it.

The JSON of a result is its documented ``to_dict`` shape (what ``--json`` prints); path, closure and
lineage-diff add ``records`` — the full records of the nodes that shape names only by key — so the client
rebuilds the very result types a local query returns.
"""

from __future__ import annotations

from typing import Any

from ..model import NodeKind, NodeRef
from ..render import node_from_dict, node_to_dict, run_from_dict, run_to_dict
from .closure import Anchor, Closure
from .diff import Difference, LineageDiff
from .paths import PathResult
from .query import LineageQuery, LineageResult, dict_key


def _ref(key: str) -> NodeRef:
    return NodeRef(NodeKind.RUN, key[4:]) if key.startswith("run:") else NodeRef(NodeKind.ARTIFACT, key)




def lineage_to_wire(result: LineageResult) -> dict[str, Any]:
    """The ``to_dict`` shape as is (which is why the server can also stream a large one page by page)."""
    return result.to_dict()


def lineage_from_wire(d: dict[str, Any]) -> LineageResult:
    """A materialised ``LineageResult``: nodes numbered 1.. in result order (root first), edges by number."""
    import numpy as np

    q = d["query"]
    query = LineageQuery(_ref(str(q["start"])), q["direction"], q.get("max_depth"), q.get("limit"),
                         q.get("as_of_seq"), frozenset(q["kinds"]) if q.get("kinds") is not None else None)
    ids = {dict_key(n): i for i, n in enumerate(d["nodes"], start=1)}
    nodes = {ids[dict_key(n)]: node_from_dict(n) for n in d["nodes"]}
    edges = [(ids[e["parent"]], ids[e["child"]], e["type"], e.get("role") or "") for e in d["edges"]]
    return LineageResult(query, ids[d["root"]], None,  # type: ignore[arg-type]  # nothing left to read
                         list(d.get("truncated") or []), d.get("engine", "server"), d.get("reachable"),
                         np.arange(1, len(nodes) + 1, dtype=np.int64),
                         np.asarray([n.get("depth", 0) for n in d["nodes"]], dtype=np.int64),
                         None, nodes, edges)


def path_to_wire(result: PathResult) -> dict[str, Any]:
    return dict(
        result.to_dict(), records={"from": node_to_dict(result.source), "to": node_to_dict(result.target)}
    )


def path_from_wire(d: dict[str, Any]) -> PathResult:
    ids = {dict_key(n): i for i, n in enumerate(d["nodes"], start=1)}
    return PathResult(
        node_from_dict(d["records"]["from"]),
        node_from_dict(d["records"]["to"]),
        bool(d["swapped"]),
        {ids[dict_key(n)]: node_from_dict(n) for n in d["nodes"]},
        [(ids[e["parent"]], ids[e["child"]], e["type"], e.get("role") or "") for e in d["edges"]],
        [[ids[k] for k in chain] for chain in d["paths"]],
        d.get("total_paths"),
        list(d.get("truncated") or []),
    )


def closure_to_wire(result: Closure) -> dict[str, Any]:
    return dict(result.to_dict(), records={"root": node_to_dict(result.root),
                                           "runs": [run_to_dict(r) for r in result.runs]})


def closure_from_wire(d: dict[str, Any]) -> Closure:
    def anchors(items: list[dict[str, Any]]) -> list[Anchor]:
        return [Anchor(a["category"], a["ref"], a.get("digest"), a.get("present"), a["source"],
                       a.get("detail") or {}) for a in items]

    from ..reproduce.predicate import Reproducibility

    def report(key: str) -> Reproducibility | None:
        return Reproducibility.from_dict(d[key]) if d.get(key) else None

    return Closure(node_from_dict(d["records"]["root"]), anchors(d["anchors"]), anchors(d["intermediates"]),
                   [run_from_dict(r) for r in d["records"]["runs"]], list(d["missing"]),
                   list(d.get("truncated") or []), report("predicate"), report("direct_predicate"))


def diff_to_wire(result: LineageDiff) -> dict[str, Any]:
    return dict(result.to_dict(), records={"a": node_to_dict(result.a), "b": node_to_dict(result.b)})


def diff_from_wire(d: dict[str, Any]) -> LineageDiff:
    return LineageDiff(node_from_dict(d["records"]["a"]), node_from_dict(d["records"]["b"]),
                       [Difference(x["aspect"], x["key"], x.get("a"), x.get("b")) for x in d["differences"]],
                       int(d["same"]), list(d.get("truncated") or []))
