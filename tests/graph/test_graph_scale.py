"""Shapes the issue names: a deep chain (100,000 steps), a wide fan-out (one dataset feeding 100,000 nodes),
diamonds; bounds that cut are reported; queries terminate even on cyclic data; the snapshot follows writes."""

from __future__ import annotations

from typing import Any

from bench import graphgen
from sqlalchemy import text

from mlineage import events as ev
from mlineage.events import NewEvent
from mlineage.graph import GraphEngine, LineageQuery
from mlineage.model import NodeKind, NodeRef

ENGINES = ["memory", "sql"]


def at(tag: str, i: int) -> NodeRef:
    return NodeRef(NodeKind.ARTIFACT, graphgen.digest_of(tag, i))


def test_deep_chain_is_walked_to_the_end(store: Any) -> None:
    n = 100_000
    graphgen.insert(store, graphgen.chain(n), "chain")
    for mode in ENGINES:
        engine = GraphEngine(store, mode)  # type: ignore[arg-type]
        up = engine.walk(LineageQuery(at("chain", n - 1), "up"))
        assert up.count == n - 1 and not up.truncated, mode
        assert int(up.depths[-1]) == n - 1
        assert up.ids[-1] == store.node_id(at("chain", 0))
        down = engine.walk(LineageQuery(at("chain", 0), "down", max_depth=50_000))
        assert down.count == 50_000
        assert down.truncated == [("depth limit 50000 reached: 49,999 more node(s) lie beyond it; "
                                  "raise --depth to see them")], mode
        near = engine.walk(LineageQuery(at("chain", 0), "down", max_depth=3))
        assert near.count == 3 and near.truncated and "at least 1 more" in near.truncated[0]


def test_wide_fan_out_and_limit_is_reported(store: Any) -> None:
    n = 100_001
    graphgen.insert(store, graphgen.fan_out(n), "fan")
    for mode in ENGINES:
        engine = GraphEngine(store, mode)  # type: ignore[arg-type]
        down = engine.walk(LineageQuery(at("fan", 0), "down"))
        assert down.count == n - 1 and set(down.depths[1:].tolist()) == {1}
        cut = engine.walk(LineageQuery(at("fan", 0), "down", limit=10))
        assert cut.count == 10
        assert cut.truncated == [("limit 10 reached: 99,990 more matching node(s) were cut; "
                                 "raise --limit to see them")]
        # the kept nodes are the first by (depth, id): deterministic on every engine
        assert cut.id_list()[1:] == sorted(down.id_list()[1:])[:10]
        one = engine.walk(LineageQuery(at("fan", 5), "up", max_depth=1))
        assert one.count == 1 and not one.truncated


def test_random_dag_engines_agree(store: Any) -> None:
    shape = graphgen.random_dag(3000, seed=3)
    graphgen.insert(store, shape, "rnd")
    memory, sql = GraphEngine(store, "memory"), GraphEngine(store, "sql")
    for index, direction in [(2999, "up"), (1500, "up"), (3, "down"), (100, "down")]:
        q = LineageQuery(at("rnd", index), direction)
        assert memory.walk(q).depth == sql.walk(q).depth


def test_queries_terminate_on_a_cycle(store: Any) -> None:
    """Cycles are rejected at write; rows written around the ledger must still not hang a query."""
    graphgen.insert(store, graphgen.chain(5), "cyc")
    first, last = store.node_id(at("cyc", 0)), store.node_id(at("cyc", 4))
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO edges (parent, child, type, role, created_seq) "
                          "VALUES (:p, :c, 'DERIVED_FROM', '', 1)"), {"p": last, "c": first})
    for mode in ENGINES:
        engine = GraphEngine(store, mode)  # type: ignore[arg-type]
        for direction in ("up", "down"):
            result = engine.walk(LineageQuery(at("cyc", 2), direction))
            assert result.count == 4


def test_snapshot_follows_appends_incrementally(client: Any) -> None:
    d = [graphgen.digest_of("inc", i) for i in range(4)]
    client.append([NewEvent(ev.ARTIFACT_RECORDED, {"digest": x, "kind": "dataset"}) for x in d])
    client.append([NewEvent(ev.ARTIFACT_DERIVED, {"parent": d[0], "child": d[1]})])
    assert client.trace(d[3]).count == 0
    snap = client.graph.snapshot()
    edges_before = snap.edge_count
    client.append([NewEvent(ev.ARTIFACT_DERIVED, {"parent": d[1], "child": d[2]}),
                   NewEvent(ev.ARTIFACT_DERIVED, {"parent": d[2], "child": d[3]})])
    result = client.trace(d[3])
    assert result.count == 3 and result.depth[client.store.node_id(at("inc", 0))] == 3
    assert client.graph.snapshot() is snap and snap.edge_count == edges_before + 2
    assert snap.memory_bytes() > 0


def test_rebuild_keeps_queries_identical(client: Any) -> None:
    d = [graphgen.digest_of("rb", i) for i in range(5)]
    client.append([NewEvent(ev.ARTIFACT_RECORDED, {"digest": x, "kind": "dataset"}) for x in d])
    client.append([NewEvent(ev.ARTIFACT_DERIVED, {"parent": d[i], "child": d[i + 1]}) for i in range(4)]
                  + [NewEvent(ev.ARTIFACT_DERIVED, {"parent": d[0], "child": d[4]})])
    before = client.trace(d[4]).to_dict()
    client.rebuild()
    fresh = GraphEngine(client.store, "memory").walk(client.query(d[4]))
    assert fresh.to_dict() == before
