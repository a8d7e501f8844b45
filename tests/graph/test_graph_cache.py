"""The on-disk snapshot cache: reused across processes only while the ledger is the same history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bench import graphgen

from mlineage import events as ev
from mlineage.events import NewEvent
from mlineage.graph import GraphEngine, LineageQuery
from mlineage.graph import engine as engine_module
from mlineage.model import NodeKind, NodeRef
from mlineage.stores.sql import SqlStore


def at(i: int) -> NodeRef:
    return NodeRef(NodeKind.ARTIFACT, graphgen.digest_of("c", i))


def _counting(store: SqlStore) -> list[int]:
    calls: list[int] = []
    original = store.graph_columns

    def spy(after_seq: int, upto_seq: int) -> Any:
        calls.append(after_seq)
        return original(after_seq, upto_seq)

    store.graph_columns = spy  # type: ignore[method-assign]
    return calls


def test_cache_is_reused_refreshed_and_rejected_for_another_ledger(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_uri: str) -> None:
    monkeypatch.setattr(engine_module, "CACHE_MIN_EDGES", 10)
    monkeypatch.setenv("MLINEAGE_GRAPH_CACHE", str(tmp_path / "cache"))
    store = SqlStore(store_uri)
    graphgen.insert(store, graphgen.random_dag(300, seed=5), "c")
    query = LineageQuery(at(299), "up")
    first = GraphEngine(store, "memory")
    expected = first.walk(query).depth
    assert first.cache_folder() is not None and (first.cache_folder() / "current").exists()  # type: ignore[operator]

    calls = _counting(store)
    second = GraphEngine(store, "memory")
    assert second.walk(query).depth == expected
    assert 0 not in calls  # loaded from the cache, not from the edges table

    d = graphgen.digest_of("c", 299)
    fresh = graphgen.digest_of("extra", 0)
    store.append([NewEvent(ev.ARTIFACT_RECORDED, {"digest": fresh, "kind": "dataset"}),
                  NewEvent(ev.ARTIFACT_DERIVED, {"parent": fresh, "child": d})])
    third = GraphEngine(store, "memory")
    result = third.walk(query)
    assert result.count == len(expected)  # one more ancestor than before (expected includes the root)
    assert 0 not in calls
    store.close()


def test_cache_from_another_history_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "CACHE_MIN_EDGES", 10)
    db = tmp_path / "s.db"
    store = SqlStore(f"sqlite:///{db}")
    graphgen.insert(store, graphgen.chain(50), "c")
    assert GraphEngine(store, "memory").walk(LineageQuery(at(49), "up")).count == 49
    assert (tmp_path / "s.db.graph" / "current").exists()
    store.close()
    for path in tmp_path.glob("s.db*"):
        if path.is_file():
            path.unlink()
    other = SqlStore(f"sqlite:///{db}")  # a new database at the same path: a different ledger
    graphgen.insert(other, graphgen.chain(20), "c")
    # the stale cache (a 50-chain) would answer 39 descendants here
    assert GraphEngine(other, "memory").walk(LineageQuery(at(10), "down")).count == 9
    other.close()


def test_renumbered_node_ids_are_detected(store: SqlStore, monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    """A rebuild keeps node ids (they are assigned in ledger order, and a rejected write leaves no gap), and
    the snapshot still agrees with a fresh one afterwards, cache included."""
    from mlineage.errors import MlineageError

    monkeypatch.setenv("MLINEAGE_GRAPH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(engine_module, "CACHE_MIN_EDGES", 1)
    d = [graphgen.digest_of("rn", i) for i in range(4)]
    store.append([NewEvent(ev.ARTIFACT_RECORDED, {"digest": d[0], "kind": "dataset"})])
    with pytest.raises(MlineageError):  # rejected whole: it must leave no gap in the node ids
        store.append(
            [
                NewEvent(ev.ARTIFACT_RECORDED, {"digest": d[1], "kind": "dataset"}),
                NewEvent(ev.ARTIFACT_DERIVED, {"parent": d[1], "child": graphgen.digest_of("none", 0)}),
            ]
        )
    store.append([NewEvent(ev.ARTIFACT_RECORDED, {"digest": x, "kind": "dataset"}) for x in d[1:]])
    store.append([NewEvent(ev.ARTIFACT_DERIVED, {"parent": d[i], "child": d[i + 1]}) for i in range(3)])
    engine = GraphEngine(store, "memory")
    query = LineageQuery(NodeRef(NodeKind.ARTIFACT, d[3]), "up")
    ids_before = engine.walk(query).id_list()
    before = {store.describe([i])[i].digest for i in ids_before}
    store.rebuild()
    assert store.node_id(query.start) == ids_before[0]
    after = {store.describe([i])[i].digest for i in engine.walk(query).id_list()}
    assert after == before and len(after) == 4
    fresh = {store.describe([i])[i].digest for i in GraphEngine(store, "memory").walk(query).id_list()}
    assert fresh == before


def test_one_shot_process_asks_the_database_unless_a_cache_exists(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLINEAGE_GRAPH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(engine_module, "ONE_SHOT_SQL_EDGES", 10)
    monkeypatch.setattr(engine_module, "CACHE_MIN_EDGES", 10)
    graphgen.insert(store, graphgen.chain(30), "c")
    query = LineageQuery(at(29), "up")
    cli_like = GraphEngine(store)
    cli_like.one_shot = True
    first = cli_like.walk(query)
    assert first.engine == "sql" and first.count == 29
    GraphEngine(store).walk(query)  # a long-lived process loads the snapshot and writes the cache
    again = GraphEngine(store)
    again.one_shot = True
    second = again.walk(query)
    assert second.engine == "memory" and second.depth == first.depth
    monkeypatch.setattr(engine_module, "ONE_SHOT_SQL_EDGES", 10_000)
    small = GraphEngine(store)
    small.one_shot = True
    monkeypatch.setenv("MLINEAGE_GRAPH_CACHE", "off")
    assert small.walk(query).engine == "memory"  # a small graph loads faster than the CTE is worth avoiding
