"""The explorer's layered layout: layers left to right, barycentre order within a layer."""

from __future__ import annotations

from mlineage.graph.layout import LAYER_GAP, layered_layout


def _crossings(y: list[float], edges: list[tuple[int, int]]) -> int:
    return sum(1 for i, (a, b) in enumerate(edges) for c, d in edges[i + 1:]
               if (y[a] - y[c]) * (y[b] - y[d]) < 0)


def test_layers_go_left_to_right_and_crossings_are_undone() -> None:
    # start 0; two ancestors at layer -1 given in the "wrong" order for their own parents at layer -2
    layers = [0, -1, -1, -2, -2, 1]
    edges = [(1, 0), (2, 0), (4, 1), (3, 2), (0, 5)]
    placed = layered_layout(layers, edges)
    assert placed.x.tolist() == [layer * LAYER_GAP for layer in layers]
    y = placed.y.tolist()
    assert _crossings(y, [(4, 1), (3, 2)]) == 0
    assert placed.widest == 2
    assert layered_layout(layers, edges).y.tolist() == y  # deterministic


def test_an_empty_view_and_a_single_node() -> None:
    assert layered_layout([], []).widest == 0
    one = layered_layout([0], [])
    assert one.x.tolist() == [0.0] and one.y.tolist() == [0.0]
