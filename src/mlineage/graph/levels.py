"""Hop depths and the (depth, id) order of a breadth-first search, from scipy's BFS order and predecessor
tree.

Two facts about a BFS order (root first) make this cheap:

* depths never decrease along it, so the result is a sequence of levels, each a contiguous slice;
* the positions of the nodes' predecessors never decrease either, so the level after ``[s, e)`` ends at the
  first position whose predecessor sits at or after ``e``: one binary search per level.

A run of one-node levels (a chain) is skipped in one step: level ``[x, x + 1)`` is followed by another
one-node level exactly when the node at ``x + 2`` hangs off ``x + 1``, so the run ends at the first position
``i`` whose predecessor is not at ``i - 1`` (found with one vectorised comparison, then binary searches).
The loop therefore runs once per level of two or more nodes, plus once per chain segment. A result with more
such steps than ``MAX_LEVEL_STEPS`` (a long "ladder") falls back to pointer jumping: log2(depth) passes.

Ordering by (depth, id) then only needs each level's ids sorted: nothing for one-node levels, one slice sort
of plain int32 ids per wide level (numpy's SIMD sort; measured faster than reading ids off a per-node depth
array in id order and radix-sorting by depth, even for a result of 630k nodes).
"""

from __future__ import annotations

import numpy as np

MAX_LEVEL_STEPS = 4096
MAX_SLICE_SORTS = 1024


def level_starts(order: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Where each level begins in ``order`` (a BFS order, root first), with ``len(order)`` appended: level
    ``d`` is ``order[starts[d]:starts[d + 1]]``."""
    k = len(order)
    if k <= 1:
        return np.array([0, k], np.int64)
    pred_of = pred[order[1:]]  # the predecessor of every node after the root, in BFS order
    if np.array_equal(pred_of, order[:-1]):  # a pure chain: one node per level
        return np.arange(k + 1, dtype=np.int64)
    position = np.empty(len(pred), np.int32)
    position[order] = np.arange(k, dtype=np.int32)
    up = np.empty(k, np.int32)  # position of each node's predecessor; non-decreasing
    up[0] = 0
    up[1:] = position[pred_of]
    return _starts_from_up(up)


def _starts_from_up(up: np.ndarray) -> np.ndarray:
    k = len(up)
    i32 = np.int32
    parts: list[np.ndarray] = []
    found = [0]
    breaks: np.ndarray | None = None
    s, e = 0, 1  # the current level is [s, e); the next one starts at e
    steps = 0
    while e < k:
        steps += 1
        if steps > MAX_LEVEL_STEPS:
            return _starts_by_pointer_jumping(up)
        if e - s == 1 and e + 1 < k and up[e + 1] == e:  # one-node levels from s on: skip the chain run
            if breaks is None:
                breaks = np.flatnonzero(up[1:] != np.arange(k - 1, dtype=i32)) + 1  # i with up[i] != i - 1
            j = int(breaks.searchsorted(e + 1))
            b = int(breaks[j]) if j < len(breaks) else k
            parts.append(np.asarray(found, np.int64))
            if b == k:  # one-node levels to the end
                parts.append(np.arange(e, k, dtype=np.int64))
                found = []
                break
            parts.append(np.arange(e, b - 1, dtype=np.int64))  # levels e .. b-2 hold one node each
            s = b - 1
            found = [s]
            e = int(up.searchsorted(i32(s)))
            continue
        s, e = e, int(up.searchsorted(i32(e)))
        found.append(s)
    parts.append(np.asarray(found + [k], np.int64))
    return np.concatenate(parts)


def _starts_by_pointer_jumping(up: np.ndarray) -> np.ndarray:
    """Depth of every position by doubling along the predecessor positions, then the level starts."""
    k = len(up)
    ptr = up.copy()
    depth = np.ones(k, np.int32)
    depth[0] = 0
    while ptr.any():
        depth += depth[ptr]
        ptr = ptr[ptr]
    counts = np.bincount(depth)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def depths_from_starts(starts: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(starts) - 1, dtype=np.int64), np.diff(starts))


def bfs_depths(order: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Hop depths of ``order`` (a BFS order, root first) from the BFS predecessor array."""
    return depths_from_starts(level_starts(order, pred))


def bfs_levels(order: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ids, depths) of a BFS result ordered by (depth, id), both int64."""
    starts = level_starts(order, pred)
    if len(starts) == len(order) + 1:  # one node per level: BFS order is already (depth, id) order
        return order.astype(np.int64), np.arange(len(order), dtype=np.int64)
    wide = np.flatnonzero(np.diff(starts) > 1)
    depths = depths_from_starts(starts)
    if len(wide) > MAX_SLICE_SORTS:
        return order_by_depth(order.astype(np.int64), depths)
    ids = order.copy()
    for lo, hi in zip(starts[wide].tolist(), starts[wide + 1].tolist(), strict=True):
        ids[lo:hi].sort()  # within a level all depths are equal: sort the (int32) ids alone
    return ids.astype(np.int64), depths


def order_by_depth(ids: np.ndarray, depths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort int64 ``ids`` (< 2**31) by (depth, id) with packed keys, only where they are not already in order.

    For results that do not come from one BFS (the depth-bounded level walk, the SQL engine). When the depths
    are already non-decreasing only each level's ids need sorting: a level of one node needs none, and a few
    wide levels are sorted one slice at a time."""
    keys = (depths << 32) | ids
    if len(keys) < 2:
        return ids, depths
    unsorted = keys[1:] < keys[:-1]
    if not unsorted.any():
        return ids, depths
    if not (depths[1:] >= depths[:-1]).all():
        keys.sort()
    else:
        bounds = np.flatnonzero(np.diff(depths)) + 1
        if len(bounds) > MAX_SLICE_SORTS:
            keys.sort()
        else:
            for lo, hi in zip(
                np.concatenate([[0], bounds]).tolist(),
                np.concatenate([bounds, [len(keys)]]).tolist(),
                strict=True,
            ):
                if hi - lo > 1:
                    keys[lo:hi].sort()
    return keys & 0xFFFFFFFF, keys >> 32
