"""Identical content never makes the lineage graph cyclic (issue 14, item 1).

An output with the bytes of an input (a dedupe that found nothing), a revert to an earlier version, a format
round trip: each records a new *occurrence* of the digest, so the stored graph stays a DAG, ``trace`` of the
output shows the run that made it, and ``impact`` of the digest reaches everything that used any occurrence.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import mlineage
from mlineage.cli.lineage_output import emit_result_json
from mlineage.errors import CycleError
from mlineage.events import NewEvent
from mlineage.formats import to_dot, to_mermaid
from mlineage.graph import LineageResult
from mlineage.model import Artifact
from mlineage.render import tree_lines
from mlineage.sdk.client import Client


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _keys(result: LineageResult) -> set[str]:
    return set(result.keys().values())


def _digests(result: LineageResult) -> set[str]:
    """The contents in a result, whichever occurrence of each."""
    return {str(n.digest) for n in result.nodes.values() if isinstance(n, Artifact)}


def _runs(result: LineageResult) -> set[str]:
    return {k.removeprefix("run:") for k in _keys(result) if k.startswith("run:")}


def _assert_acyclic(client: Client) -> None:
    store = client.store
    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        from sqlalchemy import text

        rows = conn.execute(text("SELECT parent, child FROM edges")).all()
    children: dict[int, list[int]] = {}
    for parent, child in rows:
        children.setdefault(parent, []).append(child)
    state: dict[int, int] = {}

    def visit(node: int) -> None:
        state[node] = 1
        for nxt in children.get(node, []):
            assert state.get(nxt) != 1, "the stored graph has a cycle"
            if nxt not in state:
                visit(nxt)
        state[node] = 2

    for node in list(children):
        if node not in state:
            visit(node)


def test_an_output_identical_to_its_input_is_recorded(client: Client, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    raw = _write(tmp_path / "raw.csv", "x,y\n1,2\n")
    with mlineage.run("ingest", kind="ingest", client=client, capture=False) as ingest:
        ingest.produce(raw, kind="dataset", name="raw")
    clean = _write(tmp_path / "clean.csv", raw.read_text())  # the dedupe found nothing to drop
    with mlineage.run("dedupe", kind="transform", client=client, capture=False) as dedupe:
        dedupe.use(raw, role="raw")
        dedupe.produce(clean, kind="dataset", name="clean", role="deduped")
    model = _write(tmp_path / "model.bin", "weights")
    with mlineage.run("train", kind="train", client=client, capture=False) as train:
        train.use(clean, role="training_data")
        train.produce(model, kind="model", name="model")
    assert client.store.get_run(dedupe.id).status.value == "completed"  # type: ignore[union-attr]
    _assert_acyclic(client)
    digest = _digest(raw)

    up = client.trace(digest)
    assert {dedupe.id, ingest.id} <= _runs(up)  # the run that produced the new output is in its trace
    assert client.trace("clean").count == up.count
    down = client.impact(digest)
    assert {dedupe.id, train.id} <= _runs(down) and _digest(model) in _keys(down)
    assert train.id in _runs(client.impact("raw"))
    model_up = client.trace("model")
    assert {train.id, dedupe.id, ingest.id} <= _runs(model_up)

    # the two occurrences show as the same content, never as an internal node number
    keys = up.keys()
    assert {digest, f"{digest}#2"} <= set(keys.values()) and keys[up.root] == f"{digest}#2"
    assert all(k.startswith(("sha256:", "run:")) for k in keys.values())
    occurrences = [n for n in up.nodes.values() if getattr(n, "digest", None) is not None]
    assert sorted(n.occurrence for n in occurrences) == [1, 2]  # type: ignore[attr-defined]
    lines, _cut = tree_lines(up.nodes, up.edges, up.root, "up")
    assert any("occurrence 2" in line.label for line in lines)
    for text in (to_dot(up.nodes, up.edges, up.root), to_mermaid(up.nodes, up.edges, up.root)):
        assert "occurrence 2" in text
    assert client.trace(f"{digest}#2").count == up.count  # an output key resolves to its content
    data = up.to_dict()
    assert {n.get("occurrence", 1) for n in data["nodes"] if "digest" in n} == {1, 2}
    expected_edges = {
        (f"run:{ingest.id}", digest, "PRODUCED"), (digest, f"run:{dedupe.id}", "USED"),
        (f"run:{dedupe.id}", f"{digest}#2", "PRODUCED"), (digest, f"{digest}#2", "SAME_CONTENT")}
    assert {(e["parent"], e["child"], e["type"]) for e in data["edges"]} == expected_edges
    emit_result_json(up)  # the CLI's streamed JSON: the same keys
    streamed = json.loads(capsys.readouterr().out)
    assert streamed["root"] == f"{digest}#2"
    assert {(e["parent"], e["child"], e["type"]) for e in streamed["edges"]} == expected_edges

    producers = {r.id for r in client.store.producers_of(digest)}
    assert producers == {ingest.id, dedupe.id}
    _inputs, outputs = client.store.io_of_run(dedupe.id)
    assert [str(a.digest) for a, _role in outputs] == [digest]


def test_a_revert_to_earlier_bytes(client: Client, tmp_path: Path) -> None:
    f = tmp_path / "f.txt"
    _write(f, "version one\n")
    with mlineage.run("make", client=client, capture=False) as make:
        v1 = make.produce(f, kind="dataset", name="f")
    _write(f, "version two\n")
    with mlineage.run("edit", client=client, capture=False) as edit:
        edit.use(v1)
        edit.produce(f, kind="dataset", name="f")
    seq_before_revert = client.store.head()[0]
    _write(f, "version one\n")
    with mlineage.run("revert", client=client, capture=False) as revert:
        revert.use("f@2")
        revert.produce(f, kind="dataset", name="f")
    _assert_acyclic(client)
    with mlineage.run("consume", client=client, capture=False) as consume:
        consume.use(f)
    up = client.trace(str(v1.digest))
    assert {make.id, edit.id, revert.id} <= _runs(up)
    assert consume.id in _runs(client.impact(str(v1.digest)))
    assert revert.id in _runs(client.impact("f@2"))
    # as of before the revert, the digest had one occurrence and the revert did not exist
    then = client.trace(str(v1.digest), as_of=f"seq:{seq_before_revert}")
    assert _runs(then) == {make.id}
    assert client.lineage_diff("f@1", "f@2") is not None
    path = client.path("f@2", str(v1.digest))
    assert path.found


def test_a_round_trip_of_explicit_derivations(client: Client, tmp_path: Path) -> None:
    a = _write(tmp_path / "a.csv", "a\n")
    b = _write(tmp_path / "b.parquet", "b\n")
    with mlineage.run("convert", client=client, capture=False) as run:
        run.produce(a, kind="dataset", name="csv")
        run.produce(b, kind="dataset", name="parquet", derived_from=["csv"])
    da, db = _digest(a), _digest(b)
    client.append([NewEvent("ArtifactDerived", {"parent": db, "child": da})])  # csv back from parquet
    _assert_acyclic(client)
    assert db in _digests(client.trace(da)) and da in _digests(client.impact(db))


def test_a_run_using_its_own_output(client: Client, tmp_path: Path) -> None:
    out = _write(tmp_path / "checkpoint.bin", "step 1")
    with mlineage.run("train", client=client, capture=False) as run:
        run.produce(out, kind="model", name="ckpt")
        run.use(out)  # resumes from its own checkpoint
    assert client.store.get_run(run.id).status.value == "completed"  # type: ignore[union-attr]
    _assert_acyclic(client)
    assert run.id in _runs(client.trace("ckpt"))


def test_a_contradictory_use_names_the_run_and_the_artifact(client: Client, tmp_path: Path) -> None:
    """A run that uses what descends from its own output (made by another run) cannot be drawn as a DAG:
    refused, with the run and the artifact named, never internal node numbers."""
    first = _write(tmp_path / "first.csv", "1\n")
    second = _write(tmp_path / "second.csv", "2\n")
    with mlineage.run("outer", client=client, capture=False) as outer:
        outer.produce(first, kind="dataset", name="first")
        with mlineage.run("inner", client=client, capture=False) as inner:
            inner.use(first)
            inner.produce(second, kind="dataset", name="second")
        with pytest.raises(CycleError) as refused:
            outer.use(second)
    message = str(refused.value)
    assert outer.id in message and "second" in message and _digest(second) in message
    assert "node " not in message
    assert inner.id in _runs(client.trace("second"))


def test_a_contains_cycle_names_both_runs(client: Client) -> None:
    """The generic refusal (any edge type, here a sweep nested in its own trial) names both ends in words."""
    client.append([NewEvent("RunStarted", {"run_id": rid, "job": job, "kind": "other"})
                   for rid, job in (("sweep-1", "sweep"), ("trial-1", "trial"))])
    client.append([NewEvent("RunNested", {"run_id": "trial-1", "parent_run_id": "sweep-1"})])
    with pytest.raises(CycleError) as refused:
        client.append([NewEvent("RunNested", {"run_id": "sweep-1", "parent_run_id": "trial-1"})])
    message = str(refused.value)
    assert "run trial-1 (trial)" in message and "run sweep-1 (sweep)" in message and "node " not in message


def test_a_licence_reaches_through_a_later_occurrence(client: Client, tmp_path: Path) -> None:
    """Licence propagation walks up from the newest occurrence, so a licence recorded on the content before
    the dedupe reaches the model trained on the deduped copy, and the dedupe itself is in the ancestry."""
    raw = _write(tmp_path / "raw.csv", "x\n1\n")
    with mlineage.run("collect", client=client, capture=False) as collect:
        collect.produce(raw, kind="dataset", name="raw")
    client.record_licence("raw", "CC-BY-NC-4.0")
    with mlineage.run("dedupe", client=client, capture=False) as dedupe:
        dedupe.use(raw)
        dedupe.produce(raw, kind="dataset", name="clean")
    model = _write(tmp_path / "model.bin", "w")
    with mlineage.run("train", client=client, capture=False) as train:
        train.use(raw)
        train.produce(model, kind="model", name="model")
    report = client.licence_report("model")
    assert [o.key for o in report.obligations] == [_digest(raw)]
    assert client.licence_report(_digest(raw)).ancestors >= 2  # the dedupe run and the first occurrence
