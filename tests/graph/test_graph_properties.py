"""Every lineage query against a plain in-memory reference, on random DAGs, on SQLite and PostgreSQL, with
both engines (the in-memory CSR snapshot, refreshed incrementally between examples, and the SQL fallback)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlineage.graph import GraphEngine, LineageQuery
from mlineage.model import NodeKind, NodeRef

from .helpers import Graph, build, count_paths, reference, write

KINDS = ["dataset", "model", "code", "run"]


@st.composite
def dags(draw: Any) -> Graph:
    n = draw(st.integers(1, 14))
    kinds = [draw(st.sampled_from(KINDS)) for _ in range(n)]
    parents = [[] if i == 0 else draw(st.lists(st.integers(0, i - 1), max_size=3)) for i in range(n)]
    return build(kinds, parents, batches=draw(st.integers(1, 3)))


def ref_of(g: Graph, i: int) -> NodeRef:
    key = g.key(i)
    return NodeRef(NodeKind.RUN, key[4:]) if key.startswith("run:") else NodeRef(NodeKind.ARTIFACT, key)


def as_indexes(g: Graph, store: Any, depth: dict[int, int]) -> dict[int, int]:
    ids = {store.node_id(ref_of(g, i)): i for i in range(len(g.kinds))}
    return {ids[node]: d for node, d in depth.items()}


SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(g=dags(), data=st.data())
def test_trace_and_impact_match_reference(client: Any, g: Graph, data: Any) -> None:
    seqs = write(client, g)
    engines = [client.graph, GraphEngine(client.store, "sql")]
    for _ in range(4):
        start = data.draw(st.integers(0, len(g.kinds) - 1))
        direction = data.draw(st.sampled_from(["up", "down"]))
        max_depth = data.draw(st.none() | st.integers(0, 4))
        limit = data.draw(st.none() | st.integers(1, 5))
        kinds = data.draw(st.none() | st.sets(st.sampled_from(KINDS), min_size=1))
        batch = data.draw(st.none() | st.integers(0, len(seqs) - 1))
        expected, cut = reference(g, start, direction, max_depth, limit, kinds, batch)
        query = LineageQuery(ref_of(g, start), direction, max_depth, limit,
                             None if batch is None else seqs[batch], frozenset(kinds) if kinds else None)
        for engine in engines:
            result = engine.walk(query)
            got = as_indexes(g, client.store, result.depth)
            assert got == expected, (engine.mode, query)
            assert bool(result.truncated) == cut, (engine.mode, query, result.truncated)
            assert result.count == len(expected) - 1


@SETTINGS
@given(g=dags(), data=st.data())
def test_edges_are_the_induced_subgraph(client: Any, g: Graph, data: Any) -> None:
    write(client, g)
    start = data.draw(st.integers(0, len(g.kinds) - 1))
    direction = data.draw(st.sampled_from(["up", "down"]))
    expected, _ = reference(g, start, direction)
    result = client.lineage(g.ref(start), direction)
    index = {client.store.node_id(ref_of(g, i)): i for i in range(len(g.kinds))}
    got = {(index[p], index[c], t) for p, c, t, _r in result.edges}
    assert got == {(p, c, t) for p, c, t in g.edges if p in expected and c in expected}


@SETTINGS
@given(g=dags(), data=st.data())
def test_path_matches_reference(client: Any, g: Graph, data: Any) -> None:
    write(client, g)
    a = data.draw(st.integers(0, len(g.kinds) - 1))
    b = data.draw(st.integers(0, len(g.kinds) - 1))
    down_a, _ = reference(g, a, "down")
    down_b, _ = reference(g, b, "down")
    result = client.path(g.ref(a), g.ref(b), max_paths=1000)
    if b in down_a:
        src, dst = a, b
    elif a in down_b:
        src, dst = b, a
    else:
        assert not result.found and result.total_paths == 0
        return
    assert result.found
    assert result.total_paths == count_paths(g, src, dst)
    assert len(result.paths) == result.total_paths
    keys = [[client.store.describe([n])[n] for n in chain] for chain in result.paths]
    assert all(chain[0] == keys[0][0] and chain[-1] == keys[0][-1] for chain in keys)
    on_path = set(reference(g, src, "down")[0]) & set(reference(g, dst, "up")[0])
    index = {client.store.node_id(ref_of(g, i)): i for i in range(len(g.kinds))}
    assert {index[n] for n in result.nodes} == on_path
    assert [len(p) for p in result.paths] == sorted(len(p) for p in result.paths)  # shortest first
