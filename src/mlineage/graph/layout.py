"""A layered, left-to-right layout of a lineage view, computed once on the server so a browser only draws.

Layers are hop depths (``levels.py`` gives them for a walk; the explorer keeps them): ancestors at negative
layers on the left, the start node at 0, descendants on the right. Within a layer, nodes are ordered by the
barycentre heuristic (Sugiyama): each node moves to the mean position of its neighbours in the layer nearer
the start, sweeping outward from the start and back again a few times. That keeps most edges short and
uncrossed, and costs a few vectorised passes per layer, so a 10,000-node view lays out in well under the time
a browser takes to draw it (where general-purpose JavaScript layouts freeze the page: see docs/ui.md).

Pure: arrays in, coordinates out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LAYER_GAP = 260.0  # horizontal distance between layers, in view units
ROW_GAP = 44.0  # vertical distance between neighbouring nodes of a layer
SWEEPS = 3


@dataclass(frozen=True, slots=True)
class Layout:
    """``x``/``y`` per node (aligned with the input order) and the layer sizes, for the caller's notes."""

    x: np.ndarray
    y: np.ndarray
    widest: int  # nodes in the largest layer


def layered_layout(layers: Sequence[int], edges: Sequence[tuple[int, int]], *, layer_gap: float = LAYER_GAP,
                   row_gap: float = ROW_GAP, sweeps: int = SWEEPS) -> Layout:
    """Coordinates for nodes ``0..n-1`` on ``layers[i]``, joined by ``edges`` (index pairs, either way round).

    Nodes start in their given order within a layer (the explorer passes (depth, id) order, so an unchanged
    graph lays out the same every time)."""
    n = len(layers)
    layer = np.asarray(layers, np.int64)
    if n == 0:
        empty = np.zeros(0)
        return Layout(empty, empty, 0)
    pairs = np.asarray(edges, np.int64).reshape(-1, 2)
    rank = np.zeros(n, np.float64)
    members: dict[int, np.ndarray] = {}
    for value in np.unique(layer).tolist():
        found = np.flatnonzero(layer == value)
        members[int(value)] = found
        rank[found] = np.arange(len(found), dtype=np.float64)
    if len(pairs):
        a, b = pairs[:, 0], pairs[:, 1]
        keep = layer[a] != layer[b]
        a, b = a[keep], b[keep]
        # orient every edge from the node nearer the start (|layer| smaller) to the farther one
        swap = np.abs(layer[a]) > np.abs(layer[b])
        near = np.where(swap, b, a)
        far = np.where(swap, a, b)
        outward = sorted(members, key=abs)
        for sweep in range(sweeps):
            order = outward if sweep % 2 == 0 else outward[::-1]
            for value in order:
                if value == 0:
                    continue
                # outward sweeps pull a node toward its neighbours nearer the start, inward ones toward
                # those farther out (its own ancestors or descendants)
                mine, other = (far, near) if sweep % 2 == 0 else (near, far)
                _reorder(members[value], mine, other, rank, n)
    y = np.zeros(n, np.float64)
    widest = 0
    for found in members.values():
        widest = max(widest, len(found))
        y[found] = (rank[found] - (len(found) - 1) / 2.0) * row_gap
    return Layout(layer.astype(np.float64) * layer_gap, y, widest)


def _reorder(nodes: np.ndarray, mine: np.ndarray, other: np.ndarray, rank: np.ndarray, n: int) -> None:
    """Rank ``nodes`` (one layer) by the mean rank of their neighbours along edges ``mine -> other``; a node
    without such neighbours keeps its place relative to the others."""
    in_layer = np.zeros(n, bool)
    in_layer[nodes] = True
    sel = in_layer[mine]
    if not sel.any():
        return
    total = np.bincount(mine[sel], weights=rank[other[sel]], minlength=n)[nodes]
    count = np.bincount(mine[sel], minlength=n)[nodes]
    current = rank[nodes]
    # scale neighbour ranks to this layer's size so nodes without neighbours interleave sensibly
    bary = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    if np.isnan(bary).all():
        return
    known = ~np.isnan(bary)
    lo, hi = np.nanmin(bary), np.nanmax(bary)
    span = hi - lo if hi > lo else 1.0
    scaled = np.where(known, (bary - lo) / span * max(len(nodes) - 1, 1), current)
    order = np.lexsort((current, scaled))
    rank[nodes[order]] = np.arange(len(nodes), dtype=np.float64)
