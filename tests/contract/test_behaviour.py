"""One behaviour contract, run against every backend a user can point a Client at: SQLite, PostgreSQL, HTTP to
a server on SQLite, HTTP to a server on PostgreSQL, and a server's namespaced view.

Each backend records the same story through the public API (``mlineage.run`` with an explicit Client), then
answers the same lineage questions — trace/impact with depth, kinds and as-of, path, closure, lineage-diff —
with the same result types, and fails with the same exception classes. Nothing here knows which backend it
is talking to except the fixture that builds it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import mlineage
from mlineage.config import Settings
from mlineage.errors import AmbiguousRefError, CycleError, NotFoundError, ValidationError
from mlineage.events import NewEvent
from mlineage.graph import LineageResult
from mlineage.graph.closure import Closure
from mlineage.graph.diff import LineageDiff
from mlineage.graph.paths import PathResult
from mlineage.sdk.client import Client
from tests.conftest import PG_ADMIN_URL, _pg_available, drop_pg_schema, make_pg_schema_url

BACKENDS = ["sqlite", "postgresql", "http-sqlite", "http-postgresql", "namespaced"]


@dataclass
class Backend:
    """A Client to write with, one to read with (the same one except for the namespaced view), and what the
    story recorded."""

    name: str
    writer: Client
    reader: Client
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def remote(self) -> bool:
        return self.name.startswith("http")


def _pg_url() -> tuple[str, str]:
    problem = _pg_available()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL unavailable: {problem}")
        pytest.skip(f"PostgreSQL unavailable: {problem}")
    return make_pg_schema_url(PG_ADMIN_URL)


def _sql_uri(kind: str, folder: Path, cleanup: list[Any]) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder / 'store.db'}"
    url, schema = _pg_url()
    cleanup.append(lambda: drop_pg_schema(PG_ADMIN_URL, schema))
    return url


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    name: str = request.param
    folder = tmp_path_factory.mktemp(name)
    cleanup: list[Any] = []
    try:
        if name in ("sqlite", "postgresql"):
            client = Client.for_uri(_sql_uri(name, folder, cleanup), folder / "objects")
            cleanup.append(client.close)
            found = Backend(name, client, client)
        elif name == "namespaced":
            from mlineage.server.namespaces import NamespacedStore, NamespaceIndex

            writer = Client.for_uri(_sql_uri("sqlite", folder, cleanup), folder / "objects")
            cleanup.append(writer.close)
            index = NamespaceIndex(writer.store.engine)  # type: ignore[attr-defined]
            view = NamespacedStore(writer.store, index, "default")  # untagged writes belong to default
            found = Backend(name, writer, Client(writer.settings, store=view, blobs=writer.blobs))
        else:
            from mlineage.stores.remote import RemoteStore
            from tests.server.conftest import ServerProcess, admin_token

            store_uri = _sql_uri(name.removeprefix("http-"), folder, cleanup)
            server = ServerProcess(store_uri, folder / "server-objects").start()
            cleanup.append(server.stop)
            remote = RemoteStore(server.url, token=admin_token(store_uri), spool_dir=folder / "spool")
            client = Client(Settings(None, server.url, str(folder / "objects")), store=remote)
            cleanup.append(client.close)
            found = Backend(name, client, client)
        _record_story(found, folder / "work")
        yield found
    finally:
        for step in reversed(cleanup):
            step()


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _record_story(b: Backend, work: Path) -> None:
    """raw --ingest--> clean --train(lr=0.1)--> model@1, then (later) clean --train(lr=0.2)--> model@2."""
    c = b.writer
    raw = _write(work / "raw.csv", "x,y\n1,2\n3,4\n")
    clean = _write(work / "clean.csv", "x,y\n1,2\n")
    with mlineage.run("ingest", kind="ingest", client=c, capture=False) as ingest:
        ingest.use(raw, name="raw")
        ingest.produce(clean, kind="dataset", name="clean")
    model1 = _write(work / "model-1.bin", "weights one")
    with mlineage.run("train", kind="train", params={"lr": 0.1}, client=c, capture=False) as train:
        train.use(clean, name="clean")
        train.produce(model1, kind="model", name="model")
    b.facts["seq_before_v2"] = c.store.head()[0]
    model2 = _write(work / "model-2.bin", "weights two")
    with mlineage.run("train", kind="train", params={"lr": 0.2}, client=c, capture=False) as train2:
        train2.use(clean, name="clean")
        train2.produce(model2, kind="model", name="model")
    stored = c.append([NewEvent("RunStarted", {"run_id": f"ctr-amb-{i}", "job": "probe", "kind": "other"})
                       for i in (1, 2)])
    b.facts.update(raw=_digest(raw), clean=_digest(clean), model1=_digest(model1), model2=_digest(model2),
                   ingest=ingest.id, train1=train.id, train2=train2.id, appended=stored)
    # identical content: a dedupe that found nothing writes notes.csv again, and a report is made from it
    notes = _write(work / "notes.csv", "a\n1\n")
    with mlineage.run("collect", kind="ingest", client=c, capture=False) as collect:
        collect.produce(notes, kind="dataset", name="notes")
    b.facts["seq_before_dedupe"] = c.store.head()[0]
    with mlineage.run("dedupe", kind="transform", client=c, capture=False) as dedupe:
        dedupe.use(notes)
        dedupe.produce(notes, kind="dataset", name="notes")
    report = _write(work / "report.txt", "1 row")
    with mlineage.run("report", kind="evaluate", client=c, capture=False) as reporting:
        reporting.use(notes)
        reporting.produce(report, kind="metrics", name="report")
    b.facts.update(notes=_digest(notes), report=_digest(report), collect=collect.id, dedupe=dedupe.id,
                   reporting=reporting.id)


def _keys(result: LineageResult) -> set[str]:
    return set(result.keys().values())


# ---------------------------------------------------------------- recording


def test_append_returns_the_events_it_stored(backend: Backend) -> None:
    stored = backend.facts["appended"]
    assert [e.payload["run_id"] for e in stored] == ["ctr-amb-1", "ctr-amb-2"]
    assert all(e.seq > 0 and e.hash for e in stored)
    assert stored[0].seq < stored[1].seq


def test_records_are_read_back(backend: Backend) -> None:
    store, f = backend.reader.store, backend.facts
    model = store.get_version("model")
    assert model is not None and str(model.digest) == f["model2"] and model.version == 2
    run = store.get_run(f["train2"])
    assert run is not None and run.params == {"lr": 0.2} and run.status.value == "completed"
    assert store.has_children(f["raw"]) and not store.has_children(f["model2"])


# ---------------------------------------------------------------- lineage queries


def test_trace_and_impact(backend: Backend) -> None:
    c, f = backend.reader, backend.facts
    up = c.trace("model@1")
    assert isinstance(up, LineageResult)
    assert _keys(up) == {f["model1"], f"run:{f['train1']}", f["clean"], f"run:{f['ingest']}", f["raw"]}
    assert up.count == 4 and not up.truncated
    keys = up.keys()
    assert (keys[next(i for i, k in keys.items() if k == f["raw"])], f"run:{f['ingest']}") in {
        (keys[p], keys[c]) for p, c, _t, _r in up.edges}
    down = c.impact(f["raw"])
    assert {f["model1"], f["model2"]} <= _keys(down)
    assert up.to_dict()["root"] == f["model1"] and up.to_dict()["direction"] == "ancestors"


def test_depth_and_kinds_cut_and_say_so(backend: Backend) -> None:
    c, f = backend.reader, backend.facts
    near = c.trace("model@1", depth=1)
    assert _keys(near) == {f["model1"], f"run:{f['train1']}"} and near.truncated
    datasets = c.trace("model@1", kinds=["dataset"])
    assert _keys(datasets) == {f["model1"], f["clean"], f["raw"]}
    limited = c.impact(f["raw"], limit=1)
    assert limited.count == 1 and limited.truncated


def test_as_of_shows_the_graph_as_it_stood(backend: Backend) -> None:
    c, f = backend.reader, backend.facts
    then = c.impact(f["raw"], as_of=f["seq_before_v2"])
    assert f["model1"] in _keys(then) and f["model2"] not in _keys(then)
    assert c.impact(f["raw"], as_of=f"seq:{f['seq_before_v2']}").count == then.count
    assert f["model2"] in _keys(c.impact(f["raw"]))
    assert not [
        t for t in then.truncated if "as they are now" in t
    ]  # every backend describes nodes as of then


def test_path_closure_and_diff(backend: Backend) -> None:
    c, f = backend.reader, backend.facts
    path = c.path("raw", "model@2")
    assert isinstance(path, PathResult) and path.found and not path.swapped
    chain = [path.nodes[i] for i in path.paths[0]]
    assert [getattr(n, "name", None) or "run" for n in chain] == ["raw", "run", "clean", "run", "model"]
    assert c.path("model@2", "raw").swapped

    closure = c.closure("model@2")
    assert isinstance(closure, Closure)
    data = {a.ref for a in closure.anchors if a.category == "data"}
    assert data == {"raw@1"}
    assert {r.id for r in closure.runs} == {f["train2"], f["ingest"]}

    diff = c.lineage_diff("model@1", "model@2")
    assert isinstance(diff, LineageDiff)
    changed = {(d.aspect, d.key): (d.a, d.b) for d in diff.differences}
    assert changed[("param", "train.lr")] == ("0.1", "0.2")


# ---------------------------------------------------------------- typed errors


def test_typed_errors(backend: Backend) -> None:
    c = backend.reader
    with pytest.raises(NotFoundError):
        c.trace("no-such-thing@3")
    with pytest.raises(AmbiguousRefError) as ambiguous:
        c.trace("run:ctr-amb")
    assert len(ambiguous.value.candidates) == 2
    with pytest.raises(ValidationError):
        c.trace("model", as_of="not a time")
    with pytest.raises(ValidationError):
        c.lineage("model", "sideways")


def test_identical_content_is_an_occurrence_on_every_backend(backend: Backend) -> None:
    """The dedupe's output has its input's bytes: a second occurrence of that digest, not a cycle. Every
    backend answers the same: trace shows the dedupe, impact reaches the report, path joins them, as-of before
    the dedupe shows one occurrence, and keys name the occurrence, never a node number."""
    c, f = backend.reader, backend.facts
    notes = f["notes"]
    assert c.store.get_run(f["dedupe"]).status.value == "completed"  # type: ignore[union-attr]
    up = c.trace(notes)
    assert {f"run:{f['dedupe']}", f"run:{f['collect']}", notes, f"{notes}#2"} == _keys(up)
    assert up.to_dict()["root"] == f"{notes}#2"
    keys = up.keys()
    assert {(keys[p], keys[c], t) for p, c, t, _r in up.edges} == {
        (f"run:{f['collect']}", notes, "PRODUCED"), (notes, f"run:{f['dedupe']}", "USED"),
        (f"run:{f['dedupe']}", f"{notes}#2", "PRODUCED"), (notes, f"{notes}#2", "SAME_CONTENT")}
    assert sorted(n.get("occurrence", 1) for n in up.to_dict()["nodes"] if n["type"] == "artifact") == [1, 2]
    down = c.impact(notes)
    assert {f"run:{f['dedupe']}", f"run:{f['reporting']}", f["report"]} <= _keys(down)
    assert f"run:{f['dedupe']}" in _keys(c.trace("report@1"))
    then = c.trace(notes, as_of=f["seq_before_dedupe"])
    assert _keys(then) == {notes, f"run:{f['collect']}"}
    assert c.path("notes@1", "report@1").found
    assert {r.id for r in c.store.producers_of(notes)} == {f["collect"], f["dedupe"]}


def test_a_cycle_is_refused_and_the_graph_unchanged(backend: Backend) -> None:
    """What no occurrence can fix: the ingest run using the model made downstream of its own output."""
    c, f = backend.writer, backend.facts
    closing = NewEvent("ArtifactUsed", {"run_id": f["ingest"], "digest": f["model2"]})
    with pytest.raises(CycleError) as refused:  # a server's refusal is raised at the call, as the same class
        c.append([closing])
    assert f["ingest"] in str(refused.value) and "node " not in str(refused.value)
    assert f"run:{f['ingest']}" not in _keys(backend.reader.impact(f["model2"]))
