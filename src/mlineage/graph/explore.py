"""The lineage explorer's views: a bounded, grouped, laid-out neighbourhood of one node, its hop counts, a
two-model lineage diff as one graph, and type-ahead search.

A view never walks more than it draws plus one hop: the start node's ancestors and descendants to ``depth``
hops (plus one, to count what each frontier node hides), and for every node the user expanded, that node's
neighbours (plus one). A node whose unshown neighbours outnumber ``group_min`` shows them as one group node
("+1,204 upstream"); ``max_nodes`` caps the whole view, the rest staying in groups, and the view says so in
``truncated``. So a view of a million-node ancestry costs about what it shows, and the browser receives
coordinates (``layout.py``) rather than laying out a graph itself.

Every query goes through the query service (``service.py``): the same walks ``trace`` and ``impact`` make.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import ValidationError
from ..model import Artifact, Run
from .layout import layered_layout
from .query import LineageResult, node_key

if TYPE_CHECKING:
    from ..stores.protocol import MetadataStore
    from .service import LocalQueryService

Side = Literal["up", "down"]
WALK_LIMIT = 200_000  # nodes one walk of a view may reach before it is cut (and says so)
MAX_VIEW_NODES = 20_000
MAX_EXPAND = 100  # opened nodes in one view (each is one more small walk)


@dataclass(frozen=True, slots=True)
class ViewOptions:
    """What the explorer shows: ``depth`` hops each way (``direction``: up, down or both), the nodes whose
    neighbours the user opened (``expand``: ``up:<ref>`` / ``down:<ref>``), grouping and the size cap."""

    depth: int = 2
    direction: Literal["up", "down", "both"] = "both"
    expand: tuple[str, ...] = ()
    group_min: int = 12
    max_nodes: int = 1500
    as_of: str | int | None = None

    def check(self) -> None:
        if not 0 <= self.depth <= 1000:
            raise ValidationError("depth", f"{self.depth} is outside 0..1000")
        if self.direction not in ("up", "down", "both"):
            raise ValidationError("direction", f"{self.direction!r} must be up, down or both")
        if self.group_min < 1:
            raise ValidationError("group_min", "must be at least 1")
        if not 1 <= self.max_nodes <= MAX_VIEW_NODES:
            raise ValidationError("max_nodes", f"{self.max_nodes} is outside 1..{MAX_VIEW_NODES}")
        if len(self.expand) > MAX_EXPAND:
            raise ValidationError("expand", f"{len(self.expand)} opened nodes; at most {MAX_EXPAND}",
                                  "start a new view from the node you are interested in")
        for item in self.expand:
            side, _, ref = item.partition(":")
            if side not in ("up", "down") or not ref or len(ref) > 400:
                raise ValidationError("expand", f"{item!r}: write up:<ref> or down:<ref>")


@dataclass
class _Side:
    """What the walks of one direction found: each node's outward neighbours (parents when going up)."""

    side: Side
    out: dict[int, set[int]] = field(default_factory=dict)
    edge_type: dict[tuple[int, int], str] = field(default_factory=dict)  # (parent, child) -> type
    expanded: set[int] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)

    def merge(self, result: LineageResult) -> None:
        for parent, child, kind, _role in result.edges:
            near, far = (child, parent) if self.side == "up" else (parent, child)
            self.out.setdefault(near, set()).add(far)
            self.edge_type.setdefault((parent, child), kind)
        self.notes.extend(t for t in result.truncated if t.startswith("limit"))


@dataclass
class _Group:
    owner: int
    side: Side
    members: list[int]


def explore(queries: LocalQueryService, ref: str, options: ViewOptions) -> dict[str, Any]:
    """The view of ``ref``'s neighbourhood as the documented JSON shape (docs/ui.md)."""
    options.check()
    start = queries.node(ref)
    as_of_seq = queries.as_of_seq(options.as_of)
    sides: list[Side] = ["up", "down"] if options.direction == "both" else [options.direction]
    store: MetadataStore | None = None
    root = -1
    found: dict[Side, _Side] = {}
    for side in sides:
        walk = queries.lineage(start, side, depth=options.depth + 1, limit=WALK_LIMIT, as_of=as_of_seq)
        store, root = walk.store, walk.root
        known = found[side] = _Side(side)
        known.merge(walk)
    for item in options.expand:
        which, _, key = item.partition(":")
        opened = found.get(which)  # type: ignore[call-overload]
        if opened is None:
            continue
        walk = queries.lineage(key, which, depth=2, limit=WALK_LIMIT, as_of=as_of_seq)
        opened.merge(walk)
        opened.expanded.add(walk.root)
    assert store is not None
    layer = {root: 0}
    groups: list[_Group] = []
    cut = 0
    shown_all: dict[Side, set[int]] = {}  # per side, the nodes whose every neighbour is drawn or grouped
    for side in sides:
        shown_all[side] = set()
        cut += _place(found[side], root, layer, groups, options, shown_all[side])
    for group in groups:
        group.members = [m for m in group.members if m not in layer]
    groups = [g for g in groups if g.members]
    ids = list(layer)
    records = store.node_records(ids, as_of_seq)
    nodes: list[dict[str, Any]] = []
    for node_id in ids:
        record = records.get(node_id)
        if record is None:
            continue
        shown = _node(record, layer[node_id])
        for side in sides:  # present only when something is hidden, to keep large views small
            if node_id in shown_all[side]:
                continue
            hidden = sum(1 for u in found[side].out.get(node_id, ()) if u not in layer)
            if hidden:
                shown[f"hidden_{side}"] = hidden
        nodes.append(shown)
    keys = {i: n["key"] for i, n in zip([i for i in ids if i in records], nodes, strict=True)}
    edges = []
    for side in sides:
        for (parent, child), kind in found[side].edge_type.items():
            if parent in keys and child in keys:
                edges.append({"source": keys[parent], "target": keys[child], "type": kind})
    for group in groups:
        owner = keys.get(group.owner)
        if owner is None:
            continue
        key = f"group:{group.side}:{owner}"
        sign = -1 if group.side == "up" else 1
        nodes.append({"key": key, "type": "group", "kind": "group", "side": group.side, "owner": owner,
                      "count": len(group.members), "layer": layer[group.owner] + sign,
                      "label": f"+{len(group.members):,} {'upstream' if sign < 0 else 'downstream'}"})
        edge = (key, owner) if group.side == "up" else (owner, key)
        edges.append({"source": edge[0], "target": edge[1], "type": "GROUP"})
    _lay_out(nodes, edges)
    truncated = sorted({n for side in sides for n in found[side].notes})
    if cut:
        truncated.append(f"view limited to {options.max_nodes:,} nodes: {cut:,} more are in groups; open a "
                         "group or lower the depth to see them")
    return {"root": keys[root], "as_of_seq": as_of_seq, "depth": options.depth,
            "direction": options.direction,
            "expand": list(options.expand), "nodes": nodes, "edges": edges, "truncated": truncated}


def _place(known: _Side, root: int, layer: dict[int, int], groups: list[_Group], options: ViewOptions,
           done: set[int]) -> int:
    """Breadth-first from the start over what the walks found: show a node's neighbours while it is within
    ``depth`` hops or expanded, grouping large fan-ins; returns how many the size cap sent to groups. The
    nodes whose neighbours were all placed or grouped go into ``done`` (they hide nothing)."""
    sign = -1 if known.side == "up" else 1
    queue = [root]
    cut = 0
    for node in queue:  # grows while iterating: a breadth-first order
        hops = abs(layer[node])
        opened = node in known.expanded
        if hops >= options.depth and not opened:
            continue
        done.add(node)
        new = sorted(u for u in known.out.get(node, ()) if u not in layer)
        if not new:
            continue
        if len(new) > options.group_min and not opened:
            groups.append(_Group(node, known.side, new))
            continue
        room = max(options.max_nodes - len(layer), 0)
        if len(new) > room:
            cut += len(new) - room
            groups.append(_Group(node, known.side, new[room:]))
            new = new[:room]
        for u in new:
            layer[u] = layer[node] + sign
            queue.append(u)
    return cut


def _label(node: Artifact | Run) -> str:
    if isinstance(node, Run):
        return node.job
    if node.name:
        return f"{node.name}@{node.version}" if node.version is not None else node.name
    path = node.metadata.get("path") if isinstance(node.metadata, dict) else None
    if isinstance(path, str) and path:
        return path.rstrip("/").rsplit("/", 1)[-1]
    return node.digest.short


def _node(record: Artifact | Run, layer: int) -> dict[str, Any]:
    shown: dict[str, Any] = {"key": node_key(record), "layer": layer, "label": _label(record)}
    if isinstance(record, Run):
        shown.update(type="run", kind="run", run_kind=record.kind.value, status=record.status.value,
                     id=record.id)
    else:  # the key is the digest (``<digest>#<n>`` for a later occurrence); name and version when labelled
        shown.update(type="artifact", kind=record.kind.value)
        if record.occurrence > 1:
            shown["digest"] = str(record.digest)
        if record.name is not None:
            shown.update(name=record.name, version=record.version)
    return shown


def _lay_out(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> None:
    index = {n["key"]: i for i, n in enumerate(nodes)}
    pairs = [(index[e["source"]], index[e["target"]]) for e in edges
             if e["source"] in index and e["target"] in index]
    placed = layered_layout([n["layer"] for n in nodes], pairs)
    for n, x, y in zip(nodes, placed.x.round(1).tolist(), placed.y.round(1).tolist(), strict=True):
        n["x"], n["y"] = x, y


def hop_counts(queries: LocalQueryService, ref: str, as_of: str | int | None = None,
               sides: Sequence[Side] = ("up", "down")) -> dict[str, Any]:
    """How many nodes lie at each hop upstream and downstream of ``ref`` (hop 1 first): what the explorer
    shows before anyone asks to draw them."""
    seq = queries.as_of_seq(as_of)
    out: dict[str, Any] = {"as_of_seq": seq}
    for side in sides:
        walk = queries.lineage(ref, side, as_of=seq)
        out["root"] = node_key(queries.node(ref)) if "root" not in out else out["root"]
        counts = np.bincount(walk.depths)[1:] if walk.count else np.zeros(0, np.int64)
        out[side] = [int(c) for c in counts.tolist()]
        out[f"{side}_total"] = int(walk.count)
    return out


# ---------------------------------------------------------------- lineage diff as one graph


def _match(node: Artifact | Run) -> tuple[str, str]:
    """What makes two nodes "the same thing" across versions: an artifact's name (else its digest) within
    its kind, a run's job (as ``diff.py`` matches them)."""
    if isinstance(node, Run):
        return ("run", node.job)
    return (node.kind.value, node.name or str(node.digest))


def _differs(node: Artifact | Run, keys: set[str]) -> bool:
    """Whether ``lineage-diff`` reported a difference about this node (its name, or its job's params,
    metrics, code or environment)."""
    if isinstance(node, Artifact):
        return (node.name or str(node.digest)) in keys
    return any(k == node.job or k.startswith((node.job + ".", node.job + " ")) for k in keys)


def diff_graph(queries: LocalQueryService, a: str, b: str, as_of: str | int | None = None,
               max_nodes: int = 5000) -> dict[str, Any]:
    """One graph of A's and B's ancestries: each node ``same``, ``added`` (only in B), ``removed`` (only in
    A) or ``changed`` (B's node where A had another version of the same name or job), laid out together,
    with ``lineage-diff``'s list of differences."""
    seq = queries.as_of_seq(as_of)
    report = queries.lineage_diff(a, b, as_of=seq).to_dict()
    walks = [queries.lineage(ref, "up", limit=max_nodes, as_of=seq) for ref in (a, b)]
    records = [w.store.node_records(w.id_list(), seq) for w in walks]
    depth = [w.depth for w in walks]
    in_b = {node_key(n): i for i, n in records[1].items()}
    b_by_match = {_match(n): i for i, n in records[1].items()}
    status: dict[int, str] = {}
    was: dict[int, str] = {}
    remap: dict[int, int] = {}  # A's node id -> the node that stands for it in the graph
    for i, n in records[0].items():
        key = node_key(n)
        if key in in_b:
            remap[i] = in_b[key]
            status[in_b[key]] = "same"
        elif _match(n) in b_by_match:
            target = b_by_match[_match(n)]
            remap[i] = target
            was[target] = _label(n) if isinstance(n, Run) else f"{_label(n)} {n.digest.short}"
        else:
            remap[i] = -i - 1  # A-only nodes get negative ids so they cannot collide with B's
            status[remap[i]] = "removed"
    differing = {d["key"] for d in report["differences"]}
    for i, n in records[1].items():
        if i in status:
            continue
        if i not in was:
            status[i] = "added"
        elif i == walks[1].root or _differs(n, differing):
            status[i] = "changed"
        else:  # the same name or job, nothing lineage-diff compares differs (a re-run with equal inputs)
            status[i] = "same"
    layer: dict[int, int] = {}
    shown: dict[int, Artifact | Run] = {}
    for i, n in records[1].items():
        layer[i] = -depth[1][i]
        shown[i] = n
    for i, n in records[0].items():
        j = remap[i]
        layer[j] = max(layer.get(j, -10**9), -depth[0][i])
        shown.setdefault(j, n)
    nodes = []
    for i, n in shown.items():
        item = _node(n, layer[i])
        item["status"] = status[i]
        if i in was:
            item["was"] = was[i]
        item["side"] = "a" if i < 0 else "b"
        if isinstance(n, Artifact):
            item["digest"] = str(n.digest)  # the key of an A-only node is marked, so say what it names
        nodes.append(item)
    keys = {i: item["key"] + ("@A" if i < 0 else "") for i, item in zip(shown, nodes, strict=True)}
    for item, i in zip(nodes, shown, strict=True):
        item["key"] = keys[i]
    pairs: set[tuple[int, int, str]] = set()
    for side, walk in enumerate(walks):
        for parent, child, kind, _role in walk.edges:
            if side == 0:
                parent, child = remap[parent], remap[child]
            pairs.add((parent, child, kind))
    edges = [{"source": keys[p], "target": keys[c], "type": t} for p, c, t in sorted(pairs)
             if p in keys and c in keys]
    _lay_out(nodes, edges)
    truncated = list(report["truncated"]) + [f"{'AB'[k]}: {t}" for k, w in enumerate(walks)
                                             for t in w.truncated if t.startswith("limit")]
    return {"a": report["a"], "b": report["b"], "as_of_seq": seq, "same": report["same"],
            "differences": report["differences"], "nodes": nodes, "edges": edges, "truncated": truncated}


# ---------------------------------------------------------------- search


def search(store: MetadataStore, text: str, limit: int = 10) -> list[dict[str, Any]]:
    """Type-ahead over artifact names, digests and run ids (prefixes), names first."""
    query = text.strip()
    if not query:
        return []
    out: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add(items: Iterable[dict[str, Any]]) -> None:
        for item in items:
            if item["ref"] not in seen and len(out) < limit:
                seen.add(item["ref"])
                out.append(item)

    if query.startswith("run:"):
        add(_run_hit(r) for r in store.find_runs(query[4:], limit))
        return out
    if query.startswith("sha256:"):
        add(_artifact_hit(a) for a in store.find_artifacts(query, limit))
        return out
    add({"ref": n, "label": n, "type": "name", "kind": "name"} for n in store.find_names(query, limit))
    if all(c in "0123456789abcdef" for c in query.lower()):
        add(_artifact_hit(a) for a in store.find_artifacts("sha256:" + query.lower(), limit))
    if len(query) >= 2:
        add(_run_hit(r) for r in store.find_runs(query, limit))
    return out


def _run_hit(r: Run) -> dict[str, Any]:
    return {"ref": f"run:{r.id}", "label": f"{r.job} ({r.id[:8]}, {r.status.value})", "type": "run",
            "kind": "run"}


def _artifact_hit(a: Artifact) -> dict[str, Any]:
    return {"ref": str(a.digest), "label": f"{_label(a)} {a.digest.short}", "type": "artifact",
            "kind": a.kind.value}
