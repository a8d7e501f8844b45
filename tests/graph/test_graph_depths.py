"""Hop depths and the (depth, id) order from a BFS (``mlineage.graph.levels``: one binary search per level,
chain runs skipped in one step, pointer jumping past ``MAX_LEVEL_STEPS``, per-level slice sorts or one packed
sort past ``MAX_SLICE_SORTS``), against scipy's unweighted shortest paths and a plain Python BFS."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, shortest_path

from mlineage.graph import levels
from mlineage.graph.levels import bfs_depths, bfs_levels, order_by_depth

# every code path: the normal loop; pointer jumping after 1 or 3 steps; one packed sort instead of slice sorts
PATHS = [(levels.MAX_LEVEL_STEPS, levels.MAX_SLICE_SORTS), (3, levels.MAX_SLICE_SORTS), (1, 0)]


def _graph(rng: np.random.Generator, trial: int) -> tuple[int, np.ndarray, np.ndarray, int]:
    n = int(rng.integers(2, 300))
    shape = trial % 4
    if shape == 0:  # a chain, sometimes with a shortcut
        parent, child = np.arange(n - 1), np.arange(1, n)
        if trial % 2:
            parent, child = np.append(parent, 0), np.append(child, n - 1)
        return n, parent, child, 0
    if shape == 1:  # a chain with a few side branches: chain runs broken by wide levels
        parent, child = np.arange(n - 1), np.arange(1, n)
        m = int(rng.integers(1, 6))
        return n, np.append(parent, rng.integers(0, n, m)), np.append(child, rng.integers(0, n, m)), 0
    m = int(rng.integers(1, 3 * n))  # random, cycles included
    return n, rng.integers(0, n, m), rng.integers(0, n, m), int(rng.integers(0, n))


@pytest.mark.parametrize(("max_steps", "max_sorts"), PATHS)
def test_depths_and_order_match_shortest_paths(monkeypatch: pytest.MonkeyPatch, max_steps: int,
                                               max_sorts: int) -> None:
    monkeypatch.setattr(levels, "MAX_LEVEL_STEPS", max_steps)
    monkeypatch.setattr(levels, "MAX_SLICE_SORTS", max_sorts)
    rng = np.random.default_rng(1)
    for trial in range(400):
        n, parent, child, root = _graph(rng, trial)
        graph = csr_matrix((np.ones(len(parent)), (parent, child)), shape=(n, n))
        order, pred = breadth_first_order(graph, root, return_predecessors=True)
        expected = shortest_path(graph, indices=root, unweighted=True)[order].astype(np.int64)
        assert (bfs_depths(order, pred) == expected).all(), trial
        ids, depths = bfs_levels(order, pred)
        want = np.lexsort((order, expected))
        assert (ids == order[want]).all() and (depths == expected[want]).all(), trial
        assert ids.dtype == np.int64 and depths.dtype == np.int64


def _reference(n: int, edges: list[tuple[int, int]], root: int) -> list[tuple[int, int]]:
    adj: dict[int, list[int]] = {}
    for p, c in edges:
        adj.setdefault(p, []).append(c)
    depth = {root: 0}
    queue = deque([root])
    while queue:
        v = queue.popleft()
        for w in adj.get(v, ()):
            if w not in depth:
                depth[w] = depth[v] + 1
                queue.append(w)
    return sorted((d, v) for v, d in depth.items())


@st.composite
def _dags(draw: st.DrawFn) -> tuple[int, list[tuple[int, int]]]:
    """Random DAGs that mix long chains (node i -> i+1) with fan-outs and shortcuts."""
    n = draw(st.integers(1, 80))
    edges = []
    for i in range(1, n):
        if draw(st.booleans()):
            edges.append((i - 1, i))
        edges += [(p, i) for p in draw(st.lists(st.integers(0, i - 1), max_size=2))]
    return n, edges


@settings(max_examples=200, deadline=None)
@given(dag=_dags(), root_at=st.floats(0, 0.99), path=st.sampled_from(PATHS))
def test_levels_match_a_plain_bfs(dag: tuple[int, list[tuple[int, int]]], root_at: float,
                                  path: tuple[int, int]) -> None:
    n, edges = dag
    root = int(root_at * n)
    parent = np.array([p for p, _c in edges], np.int64)
    child = np.array([c for _p, c in edges], np.int64)
    graph = csr_matrix((np.ones(len(edges)), (parent, child)), shape=(n, n))
    order, pred = breadth_first_order(graph, root, return_predecessors=True)
    saved = levels.MAX_LEVEL_STEPS, levels.MAX_SLICE_SORTS
    levels.MAX_LEVEL_STEPS, levels.MAX_SLICE_SORTS = path
    try:
        ids, depths = bfs_levels(order, pred)
    finally:
        levels.MAX_LEVEL_STEPS, levels.MAX_SLICE_SORTS = saved
    assert list(zip(depths.tolist(), ids.tolist(), strict=True)) == _reference(n, edges, root)


def test_order_by_depth_is_depth_then_id() -> None:
    rng = np.random.default_rng(2)
    for _ in range(300):
        k = int(rng.integers(1, 60))
        ids = rng.permutation(10_000)[:k].astype(np.int64)
        for depths in (np.sort(rng.integers(0, 6, k)), rng.integers(0, 6, k)):
            got_ids, got_depths = order_by_depth(ids.copy(), depths.copy())
            want = np.lexsort((ids, depths))
            assert (got_ids == ids[want]).all() and (got_depths == depths[want]).all()
