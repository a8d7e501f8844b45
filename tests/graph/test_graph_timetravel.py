"""``--as-of T`` describes the graph as it stood at T: edges added later are absent, and every node record is
the one the ledger held then — a run's status, params, metrics and end; an artifact's name/version label.

The property test states it exactly: for every T, the as-of records in the full store equal the records of a
fresh store that was given only the ledger's first T events (node ids follow ledger order, so they match)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlineage import events as ev
from mlineage.cli.main import cli
from mlineage.events import NewEvent
from mlineage.formats import LINEAGE_JSON_SCHEMA
from mlineage.graph import LineageQuery
from mlineage.graph.records import as_of_note, describe
from mlineage.model import Artifact, NodeKind, NodeRef, Run, RunStatus
from mlineage.stores.sql import SqlStore

from .helpers import digest

DATA, DATA2, MODEL = digest("tt", 0), digest("tt", 1), digest("tt", 2)


def _history(client: Any) -> tuple[int, int]:
    """data -> train -> model; then params/metrics; then more metrics, the end, labels and a new edge.
    Returns the ledger seqs after the first and the second stage."""
    client.append(
        [
            NewEvent(ev.ARTIFACT_RECORDED, {"digest": DATA, "kind": "dataset"}),
            NewEvent(
                ev.RUN_STARTED, {"run_id": "tt-train", "job": "train", "kind": "train", "params": {"lr": 0.1}}
            ),
            NewEvent(ev.ARTIFACT_USED, {"run_id": "tt-train", "digest": DATA}),
            NewEvent(ev.ARTIFACT_RECORDED, {"digest": MODEL, "kind": "model"}),
            NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": "tt-train", "digest": MODEL}),
        ]
    )
    first = client.store.head()[0]
    client.append(
        [
            NewEvent(ev.PARAMS_LOGGED, {"run_id": "tt-train", "params": {"epochs": 3}}),
            NewEvent(
                ev.METRICS_LOGGED,
                {"run_id": "tt-train", "metrics": [{"key": "acc", "value": 0.5, "step": 0}]},
            ),
        ]
    )
    second = client.store.head()[0]
    client.append(
        [
            NewEvent(
                ev.METRICS_LOGGED,
                {
                    "run_id": "tt-train",
                    "metrics": [
                        {"key": "acc", "value": 0.9, "step": 1},
                        {"key": "loss", "value": 0.1, "step": 1},
                    ],
                },
            ),
            NewEvent(ev.RUN_ENDED, {"run_id": "tt-train", "status": "completed"}),
            NewEvent(
                ev.ARTIFACT_RECORDED, {"digest": DATA, "kind": "dataset", "name": "data"}
            ),  # a label, later
            NewEvent(ev.ARTIFACT_RECORDED, {"digest": MODEL, "kind": "model", "name": "clf"}),
            NewEvent(ev.ARTIFACT_RECORDED, {"digest": DATA2, "kind": "dataset"}),
            NewEvent(ev.ARTIFACT_DERIVED, {"parent": DATA2, "child": MODEL}),
        ]
    )
    return first, second


def _by_key(result: Any) -> dict[str, Artifact | Run]:
    return {(str(n.digest) if isinstance(n, Artifact) else n.id): n for n in result.nodes.values()}


def test_as_of_describes_nodes_as_they_stood(client: Any) -> None:
    first, second = _history(client)

    then = _by_key(client.trace(MODEL, as_of=first))
    assert set(then) == {DATA, MODEL, "tt-train"}  # the edge from DATA2 came later
    run = then["tt-train"]
    assert isinstance(run, Run)
    assert (run.status, run.params, run.metrics, run.ended_at) == (RunStatus.RUNNING, {"lr": 0.1}, {}, None)
    data, model = then[DATA], then[MODEL]
    assert isinstance(data, Artifact) and isinstance(model, Artifact)
    assert (data.name, data.version, model.name, model.version) == (None, None, None, None)

    middle = _by_key(client.trace(MODEL, as_of=second))["tt-train"]
    assert isinstance(middle, Run)
    assert middle.status == RunStatus.RUNNING
    assert middle.params == {"lr": 0.1, "epochs": 3} and middle.metrics == {"acc": 0.5}

    now = _by_key(client.trace(MODEL))
    assert set(now) == {DATA, DATA2, MODEL, "tt-train"}
    run_now, data_now = now["tt-train"], now[DATA]
    assert isinstance(run_now, Run) and isinstance(data_now, Artifact)
    assert run_now.status == RunStatus.COMPLETED and run_now.ended_at is not None
    assert run_now.metrics == {"acc": 0.9, "loss": 0.1}
    assert (data_now.name, data_now.version) == ("data", 1)
    assert not client.trace(MODEL, as_of=first).truncated  # a SQL store describes as of T: nothing to caveat


def test_as_of_reaches_paths_and_lineage_diff(client: Any) -> None:
    first, _second = _history(client)
    path = client.path(DATA, MODEL, as_of=first)
    run = next(n for n in path.nodes.values() if isinstance(n, Run))
    assert run.status == RunStatus.RUNNING and run.metrics == {}
    later = client.path(DATA, MODEL)
    assert next(n for n in later.nodes.values() if isinstance(n, Run)).status == RunStatus.COMPLETED


def test_lineage_diff_as_of_compares_the_runs_of_then(client: Any) -> None:
    """Two models from two runs of one job; run B logs a param and fails only after T."""
    data, model_a, model_b = digest("td", 0), digest("td", 1), digest("td", 2)
    client.append([NewEvent(ev.ARTIFACT_RECORDED, {"digest": d, "kind": k})
                   for d, k in ((data, "dataset"), (model_a, "model"), (model_b, "model"))])
    for run, model in (("td-a", model_a), ("td-b", model_b)):
        client.append(
            [
                NewEvent(
                    ev.RUN_STARTED, {"run_id": run, "job": "train", "kind": "train", "params": {"lr": 1}}
                ),
                NewEvent(ev.ARTIFACT_USED, {"run_id": run, "digest": data}),
                NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": run, "digest": model}),
            ]
        )
    moment = client.store.head()[0]
    client.append([NewEvent(ev.PARAMS_LOGGED, {"run_id": "td-b", "params": {"epochs": 9}}),
                   NewEvent(ev.RUN_ENDED, {"run_id": "td-b", "status": "failed"})])
    now = {(d.aspect, d.key): (d.a, d.b) for d in client.lineage_diff(model_a, model_b).differences}
    assert now == {("param", "train.epochs"): (None, "9"), ("run", "train"): ("running", "failed")}
    assert client.lineage_diff(model_a, model_b, as_of=moment).differences == []


def test_cli_trace_as_of_prints_the_records_of_then(client: Any, store_uri: str, tmp_path: Path) -> None:
    first, _second = _history(client)
    env = {"MLINEAGE_URI": store_uri, "MLINEAGE_ARTIFACTS": str(tmp_path / "objects")}
    out = CliRunner().invoke(cli, ["trace", MODEL, "--as-of", f"seq:{first}", "--json"], env=env,
                             catch_exceptions=False)
    assert out.exit_code == 0, out.output
    document = json.loads(out.output)
    jsonschema.validate(document, LINEAGE_JSON_SCHEMA)
    runs = [n for n in document["nodes"] if n["type"] == "run"]
    assert [(r["status"], r["metrics"], r["ended_at"]) for r in runs] == [("running", {}, None)]
    assert all(n["name"] is None for n in document["nodes"] if n["type"] == "artifact")
    assert {n.get("digest") for n in document["nodes"]} >= {DATA, MODEL} and DATA2 not in out.output
    tree = CliRunner().invoke(
        cli, ["trace", MODEL, "--as-of", f"seq:{first}"], env=env, catch_exceptions=False
    )
    assert "[running]" in tree.output and "[completed]" not in tree.output


def test_a_store_without_as_of_records_says_so(client: Any) -> None:
    """A store whose capabilities say it cannot describe nodes as of a seq shows records as they are now, and
    the result says so instead of passing them off as historical."""
    first, _second = _history(client)

    from mlineage.stores.protocol import Capabilities

    class PlainStore:
        """Declares that it describes nodes only as they are now (its node_records ignores the seq)."""

        capabilities = Capabilities(as_of_records=False)

        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def node_records(self, node_ids: Any, as_of_seq: int | None = None) -> Any:
            return self._inner.describe(node_ids)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

    from mlineage.graph import GraphEngine

    plain = PlainStore(client.store)
    assert as_of_note(plain, None) is None and as_of_note(client.store, first) is None
    result = GraphEngine(plain, "memory").walk(
        LineageQuery(NodeRef(NodeKind.ARTIFACT, MODEL), "up", as_of_seq=first)
    )
    assert any("as they are now" in reason for reason in result.truncated)
    assert len(result.nodes) == 3 and len(result.edges) == 2


# ---------------------------------------------------------------- property: as of T == the ledger's first T
# events

RUNS = ["r0", 'r"1\\ ', "r\u00e9\u2028\U0001f600"]  # ids with quotes, backslashes and non-ASCII text
DIGESTS = [digest("ttp", i) for i in range(4)]


@st.composite
def _ledgers(draw: st.DrawFn) -> list[NewEvent]:
    """A random valid history: artifacts (some named, some named later), runs that log params and metrics
    (a key may repeat within one event), use and produce artifacts, and end."""
    out: list[NewEvent] = []
    recorded: list[str] = []
    started: list[str] = []
    ended: set[str] = set()
    params: dict[str, set[str]] = {}
    for _ in range(draw(st.integers(1, 25))):
        action = draw(st.sampled_from(["artifact", "run", "params", "metrics", "end", "edge", "label"]))
        if action == "artifact" and len(recorded) < len(DIGESTS):
            d = DIGESTS[len(recorded)]
            name = draw(st.none() | st.sampled_from(["a", "b"]))
            out.append(NewEvent(ev.ARTIFACT_RECORDED, {"digest": d, "kind": "dataset",
                                                       **({"name": name} if name else {})}))
            recorded.append(d)
        elif action == "label" and recorded:
            out.append(
                NewEvent(
                    ev.ARTIFACT_RECORDED,
                    {
                        "digest": draw(st.sampled_from(recorded)),
                        "kind": "dataset",
                        "name": draw(st.sampled_from(["a", "b", "c"])),
                    },
                )
            )
        elif action == "run" and len(started) < len(RUNS):
            run = RUNS[len(started)]
            out.append(NewEvent(ev.RUN_STARTED, {"run_id": run, "job": "j", "kind": "train",
                                                 "params": {"p0": draw(st.integers(0, 3))}}))
            started.append(run)
            params[run] = {"p0"}
        elif action == "params" and started:
            run = draw(st.sampled_from(started))
            key = f"p{len(params[run])}"
            params[run].add(key)
            out.append(NewEvent(ev.PARAMS_LOGGED, {"run_id": run, "params": {key: draw(st.integers(0, 3))}}))
        elif action == "metrics" and started:
            run = draw(st.sampled_from(started))
            keys = draw(st.lists(st.sampled_from(["acc", "loss"]), min_size=1, max_size=3))
            out.append(NewEvent(ev.METRICS_LOGGED, {"run_id": run, "metrics": [
                {"key": k, "value": float(draw(st.integers(0, 9))), "step": i} for i, k in enumerate(keys)]}))
        elif action == "end" and set(started) - ended:
            run = draw(st.sampled_from(sorted(set(started) - ended)))
            ended.add(run)
            out.append(
                NewEvent(
                    ev.RUN_ENDED,
                    {
                        "run_id": run,
                        "status": draw(st.sampled_from(["completed", "failed"])),
                        **({"error": {"type": "E", "message": "m"}} if draw(st.booleans()) else {}),
                    },
                )
            )
        elif action == "edge" and started and recorded:
            run, d = draw(st.sampled_from(started)), draw(st.sampled_from(recorded))
            kind = ev.ARTIFACT_USED if draw(st.booleans()) else ev.ARTIFACT_PRODUCED
            out.append(NewEvent(kind, {"run_id": run, "digest": d}))
    return out


def _append_valid(store: SqlStore, events: list[NewEvent]) -> None:
    """Append one by one; the store rejects what this history cannot hold (a label that clashes)."""
    for e in events:
        try:
            store.append([e])
        except Exception:  # noqa: BLE001, S112 - a rejected event is simply not part of this history
            continue


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_store(request: pytest.FixtureRequest, tmp_path_factory: Any) -> Any:
    """A factory of empty stores on one backend (hypothesis examples need one each)."""
    made: list[tuple[SqlStore, str | None]] = []

    def make() -> SqlStore:
        if request.param == "sqlite":
            store = SqlStore(f"sqlite:///{tmp_path_factory.mktemp('full') / 'store.db'}")
            made.append((store, None))
        else:
            from tests.conftest import make_pg_schema_url

            url, schema = make_pg_schema_url(request.getfixturevalue("pg_admin_url"))
            store = SqlStore(url)
            made.append((store, schema))
        return store

    yield make
    for store, schema in made:
        store.close()
        if schema is not None:
            from tests.conftest import drop_pg_schema

            drop_pg_schema(request.getfixturevalue("pg_admin_url"), schema)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(history=_ledgers())
def test_as_of_equals_the_projection_of_the_ledger_prefix(fresh_store: Any, tmp_path_factory: Any,
                                                          history: list[NewEvent]) -> None:
    full = fresh_store()
    _append_valid(full, history)
    stored = list(full.iter_events())  # as the ledger holds them (times filled in), to replay exactly
    ids = list(range(1, len(stored) + 2))  # every node id there could be (dense, from 1), and one more
    folder = tmp_path_factory.mktemp("prefix")
    for upto in range(len(stored) + 1):
        prefix = SqlStore(f"sqlite:///{folder / f'p{upto}.db'}")
        try:
            prefix.append(
                [NewEvent(e.type, e.payload or {}, e.id, e.ts, e.actor, e.v) for e in stored[:upto]]
            )
            expected = prefix.describe(ids)
        finally:
            prefix.close()
        assert describe(full, ids, upto) == expected, upto


def test_run_events_are_found_when_the_id_search_misses(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The payload search is only a pre-filter: if it misses the run's start, the range is read by type."""
    _first, second = _history(client)
    import json as real_json
    import types

    from mlineage.stores import records

    monkeypatch.setattr(
        records, "json", types.SimpleNamespace(loads=real_json.loads, dumps=lambda *a, **k: '"x"')
    )
    run = _by_key(client.trace(MODEL, as_of=second))["tt-train"]
    assert isinstance(run, Run) and run.params == {"lr": 0.1, "epochs": 3} and run.metrics == {"acc": 0.5}


def test_node_records_now_and_before_anything(client: Any) -> None:
    _history(client)
    ids = list(range(1, 10))
    assert client.store.node_records(ids) == client.store.describe(ids)
    assert client.store.node_records(ids, 0) == {}
    assert client.store.edges_among(ids, "up", 0) == []
