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


@st.composite
def batches(draw: Any) -> list[list[NewEvent]]:
    kinds = st.sampled_from(["artifact", "artifact", "start", "use", "produce", "derive", "params", "metrics",
                             "end"])
    return [[_event(k, draw) for k in draw(st.lists(kinds, min_size=1, max_size=4))]
            for _ in range(draw(st.integers(1, 25)))]


def _check(store: SqlStore, plan: list[list[NewEvent]]) -> None:
    for batch in plan:
        head = store.head()
        try:
            store.append(batch)
        except MlineageError:
            assert store.head() == head  # a rejected batch leaves no trace
    live = store.projection_snapshot()
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
