"""Hop depths from a BFS predecessor tree (binary search per level, pure-chain fast path, pointer jumping for
deep results) and the (depth, id) ordering, against scipy's unweighted shortest paths on random graphs."""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, shortest_path

from mlineage.graph.engine import bfs_depths, order_by_depth


def test_bfs_depths_match_shortest_paths() -> None:
    rng = np.random.default_rng(1)
    for trial in range(300):
        n = int(rng.integers(2, 300))
        if trial % 3 == 0:  # deep and thin: a chain, sometimes with a shortcut (pointer jumping path)
            parent, child = np.arange(n - 1), np.arange(1, n)
            if trial % 2:
                parent, child = np.append(parent, 0), np.append(child, n - 1)
        else:  # random, cycles included
            m = int(rng.integers(1, 3 * n))
            parent, child = rng.integers(0, n, m), rng.integers(0, n, m)
        graph = csr_matrix((np.ones(len(parent)), (parent, child)), shape=(n, n))
        order, pred = breadth_first_order(graph, 0, return_predecessors=True)
        expected = shortest_path(graph, indices=0, unweighted=True)[order]
        assert (bfs_depths(order, pred) == expected).all(), trial


def test_order_by_depth_is_depth_then_id() -> None:
    rng = np.random.default_rng(2)
    for _ in range(300):
        k = int(rng.integers(1, 60))
        ids = rng.permutation(10_000)[:k].astype(np.int64)
        for depths in (np.sort(rng.integers(0, 6, k)), rng.integers(0, 6, k)):
            got_ids, got_depths = order_by_depth(ids.copy(), depths.copy())
            want = np.lexsort((ids, depths))
            assert (got_ids == ids[want]).all() and (got_depths == depths[want]).all()
