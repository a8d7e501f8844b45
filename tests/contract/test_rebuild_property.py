"""Property: for any sequence of events, replaying the ledger rebuilds exactly the live projections."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlineage import events as ev
from mlineage.errors import MlineageError
from mlineage.events import NewEvent
from mlineage.stores.sql import SqlStore

from ..conftest import drop_pg_schema, make_pg_schema_url

DIGESTS = [f"sha256:{i:064x}" for i in range(1, 9)]
RUNS = [f"run{i}" for i in range(6)]
NAMES = ["raw", "clean", "model"]

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000),
                         st.floats(allow_nan=False, allow_infinity=False, width=32), st.text(max_size=8))


def _event(kind: str, draw: Any) -> NewEvent:
    if kind == "artifact":
        payload: dict[str, Any] = {"digest": draw(st.sampled_from(DIGESTS)),
                                   "kind": draw(st.sampled_from(["dataset", "model", "file"])),
                                   "size": draw(st.integers(0, 10**6))}
        if draw(st.booleans()):
            payload["name"] = draw(st.sampled_from(NAMES))
        if draw(st.booleans()):
            payload["metadata"] = {"note": draw(st.text(max_size=5))}
        return NewEvent(ev.ARTIFACT_RECORDED, payload)
    if kind == "start":
        return NewEvent(
            ev.RUN_STARTED,
            {
                "run_id": draw(st.sampled_from(RUNS)),
                "job": "j",
                "kind": "train",
                "params": draw(st.dictionaries(st.sampled_from("abc"), json_scalars)),
            },
        )
    if kind in ("use", "produce"):
        return NewEvent(ev.ARTIFACT_USED if kind == "use" else ev.ARTIFACT_PRODUCED,
                        {"run_id": draw(st.sampled_from(RUNS)), "digest": draw(st.sampled_from(DIGESTS)),
                         "role": draw(st.sampled_from(["a", "b"]))})
    if kind == "derive":
        parent, child = draw(st.lists(st.sampled_from(DIGESTS), min_size=2, max_size=2, unique=True))
        return NewEvent(ev.ARTIFACT_DERIVED, {"parent": parent, "child": child})
    if kind == "params":
        return NewEvent(
            ev.PARAMS_LOGGED,
            {
                "run_id": draw(st.sampled_from(RUNS)),
                "params": draw(st.dictionaries(st.sampled_from("cde"), json_scalars)),
            },
        )
    if kind == "metrics":
        return NewEvent(ev.METRICS_LOGGED, {"run_id": draw(st.sampled_from(RUNS)), "metrics": [
            {"key": draw(st.sampled_from(["loss", "acc"])),
             "value": draw(st.floats(-1e6, 1e6, allow_nan=False)), "step": draw(st.integers(0, 5))}]})
    return NewEvent(ev.RUN_ENDED, {"run_id": draw(st.sampled_from(RUNS)),
                                   "status": draw(st.sampled_from(["completed", "failed", "aborted"]))})


def _round_trip(kind: str, draw: Any) -> list[NewEvent]:
    """Identical content made again downstream of itself (issue 14): each of these records a new occurrence
    of a digest (or, for a run reading back its own output, no edge), where it once was a cycle."""
    run, first, second = draw(st.sampled_from(RUNS)), *draw(
        st.lists(st.sampled_from(DIGESTS), min_size=2, max_size=2, unique=True))
    recorded = [NewEvent(ev.ARTIFACT_RECORDED, {"digest": d, "kind": "dataset"}) for d in (first, second)]
    start = NewEvent(ev.RUN_STARTED, {"run_id": run, "job": "j", "kind": "transform"})
    if kind == "dedupe":  # a step that changed nothing: its output is its input
        return [*recorded, start, NewEvent(ev.ARTIFACT_USED, {"run_id": run, "digest": first}),
                NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": run, "digest": first})]
    if kind == "revert":  # v1 -> v2 -> v1's bytes again, by explicit derivation
        return [*recorded, NewEvent(ev.ARTIFACT_DERIVED, {"parent": first, "child": second}),
                NewEvent(ev.ARTIFACT_DERIVED, {"parent": second, "child": first})]
    # a run reading back what it wrote
    return [*recorded, start, NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": run, "digest": first}),
            NewEvent(ev.ARTIFACT_USED, {"run_id": run, "digest": first})]


@st.composite
def batches(draw: Any) -> list[list[NewEvent]]:
    kinds = st.sampled_from(["artifact", "artifact", "start", "use", "produce", "derive", "params", "metrics",
                             "end", "dedupe", "revert", "readback"])
    plan = []
    for _ in range(draw(st.integers(1, 25))):
        batch: list[NewEvent] = []
        for k in draw(st.lists(kinds, min_size=1, max_size=4)):
            batch.extend(_round_trip(k, draw) if k in ("dedupe", "revert", "readback") else [_event(k, draw)])
        plan.append(batch)
    return plan


def _assert_acyclic(edges: list[tuple[Any, ...]]) -> None:
    """The stored graph is a DAG: Kahn's algorithm removes every node."""
    children: dict[int, list[int]] = {}
    indegree: dict[int, int] = {}
    for row in edges:
        parent, child = int(row[0]), int(row[1])
        children.setdefault(parent, []).append(child)
        indegree[child] = indegree.get(child, 0) + 1
        indegree.setdefault(parent, 0)
    ready = [n for n, d in indegree.items() if d == 0]
    removed = 0
    while ready:
        node = ready.pop()
        removed += 1
        for child in children.get(node, []):
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    assert removed == len(indegree), "the stored lineage graph has a cycle"


def _check(store: SqlStore, plan: list[list[NewEvent]]) -> None:
    for batch in plan:
        head = store.head()
        try:
            store.append(batch)
        except MlineageError:
            assert store.head() == head  # a rejected batch leaves no trace
    live = store.projection_snapshot()
    _assert_acyclic(live["edges"])
    count = store.rebuild()
    assert count == store.head()[0]
    assert store.projection_snapshot() == live
    assert store.verify().ok


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=batches())
def test_rebuild_equals_live_projections_sqlite(plan: list[list[NewEvent]], tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}")
    try:
        _check(store, plan)
    finally:
        store.close()


@pytest.mark.postgres
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=batches())
def test_rebuild_equals_live_projections_postgresql(plan: list[list[NewEvent]], pg_admin_url: str) -> None:
    url, schema = make_pg_schema_url(pg_admin_url)
    store = SqlStore(url)
    try:
        _check(store, plan)
    finally:
        store.close()
        drop_pg_schema(pg_admin_url, schema)
