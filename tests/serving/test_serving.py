"""Serving traces on both metadata backends: the recorder under a thread pool (every trace once), the caller
never blocked or raised at, drops and sampling counted, aliases resolved to the digest they named then,
``--as-of``, rebuild, and ``explain-answer`` from an answer to its corpus documents and licences."""

from __future__ import annotations

import json
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mlineage import pipeline
from mlineage.audit import compare_projections
from mlineage.errors import NotFoundError, ValidationError
from mlineage.events import NewEvent
from mlineage.ledger import canonical_json
from mlineage.sdk.client import Client
from mlineage.serving import otel
from mlineage.serving.recorder import TraceRecorder
from mlineage.serving.service import normalise, sealable, to_events
from tests.registry.models import register_models


def _total(client: Client) -> int:
    return sum(r["traces"] for r in client.serving_summary()["rows"])


def test_a_thread_pool_of_callers_records_every_trace_once(client: Client, tmp_path: Path) -> None:
    v1, _ = register_models(client, tmp_path, "chat", 2)
    client.set_alias("chat", "production", "@1")
    rec = TraceRecorder(client, interval=0.01, batch_size=64)

    def call(i: int) -> str | None:
        return rec.trace(
            "bot",
            "chat@production",
            latency_ms=i % 50 + 0.5,
            input_tokens=10,
            output_tokens=i % 7,
            cost=0.0005,
            guardrail="pass",
            tool_spans=[{"name": "search", "latency_ms": 3.5}],
            trace_id=f"t{i:05d}",
        )

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(call, range(300)))
    assert ids == [f"t{i:05d}" for i in range(300)]
    stats = rec.flush()
    assert stats["recorded"] == 300 and stats["dropped"] == stats["rejected"] == stats["failed"] == 0
    listed = client.serving_traces(limit=10_000)
    assert sorted(t["trace_id"] for t in listed) == ids
    assert {(t["model_name"], t["model_version"], t["model_digest"]) for t in listed} == {
        ("chat", 1, v1["digest"])
    }
    head = client.store.head()[0]

    # the same ids again (a retry after a crash) change nothing; the alias moves: new traces name @2
    client.record_traces([{"trace_id": "t00001", "endpoint": "bot", "model": "chat@production"}])
    client.set_alias("chat", "production", "@2")
    client.record_traces([{"trace_id": "late", "endpoint": "bot", "model": "chat@production"}])
    assert _total(client) == 301
    summary = {r["model"]: r for r in client.serving_summary()["rows"]}
    assert summary["chat@1"]["traces"] == 300 and summary["chat@2"]["traces"] == 1
    assert summary["chat@1"]["input_tokens"] == 3000 and summary["chat@1"]["errors"] == 0
    assert summary["chat@1"]["cost"] == pytest.approx(0.15)
    assert [t["trace_id"] for t in client.serving_traces(model="chat@2")] == ["late"]
    assert len(client.serving_traces(model="chat@1", limit=10_000)) == 300

    # as it stood: before the late trace; the summary from the traces themselves agrees
    assert len(client.serving_traces(as_of=head, limit=10_000)) == 300
    assert [r["traces"] for r in client.serving_summary(as_of=f"seq:{head}")["rows"]] == [300]
    before = client.serving_summary(), client.serving_traces(limit=10_000)
    client.rebuild()  # the projection is a fold of the ledger: replayed, the same rows
    assert compare_projections(client.store).ok  # `verify --projections` replays it the same way
    assert (client.serving_summary(), client.serving_traces(limit=10_000)) == before


def test_the_caller_never_blocks_or_raises_and_losses_are_counted(client: Client) -> None:
    rec = TraceRecorder(client, queue_size=5, interval=3600)  # the writer sleeps: the queue fills up
    ids = [rec.trace("bot", "nothing@production", trace_id=f"q{i}") for i in range(8)]
    assert ids[:5] == [f"q{i}" for i in range(5)] and ids[5:] == [None] * 3
    assert rec.trace("bot", latency_ms=object()) is None  # dropped too: the queue is still full
    rec._wake.set()
    stats = rec.flush()
    assert stats["dropped"] == 4 and stats["recorded"] == 5
    assert client.serving_summary()["dropped"] == 4  # the losses ride on the next batch, in the ledger
    # an unresolvable model is kept as written, without a digest
    assert {t["model_digest"] for t in client.serving_traces()} == {None}

    bad = TraceRecorder(client, interval=0.01)
    assert bad.trace("bot", latency_ms=object()) is not None  # queued: checked on the writer thread
    assert bad.trace("bot", latency_ms=float("nan")) is not None
    assert bad.trace("x" * 500) is not None
    assert bad.flush()["rejected"] == 3
    assert _total(client) == 5


def test_sampling(client: Client) -> None:
    random.seed(7)
    rec = TraceRecorder(client, sample_rate=0.25, interval=0.01)
    kept = [rec.trace("bot", latency_ms=1.0) for _ in range(400)]
    stats = rec.flush()
    recorded = sum(1 for k in kept if k is not None)
    assert stats["recorded"] == recorded and stats["sampled_out"] == 400 - recorded
    assert 40 < recorded < 160
    summary = client.serving_summary()
    assert summary["sampled_out"] == 400 - recorded and _total(client) == recorded
    late = [rec.trace("bot") for _ in range(40)]  # sampled out after the last batch: written at close
    rec.close()
    assert client.serving_summary()["sampled_out"] == 400 - recorded + late.count(None)


def test_ingest_resolves_what_the_writer_could_not(client: Client, tmp_path: Path) -> None:
    v1, v2 = register_models(client, tmp_path, "ranker", 2)
    client.set_alias("ranker", "champion", "@2")
    client.deploy("ranker@1", "search", "prod")
    client.append(
        [
            NewEvent(
                "ServingTraces",
                {
                    "traces": [
                        {"trace_id": "a", "ts": "2026-12-07T12:00:00.000000Z", "model": "ranker@champion"},
                        {"trace_id": "b", "ts": "2026-12-07T12:00:00.000000Z", "endpoint": "search"},
                        {
                            "trace_id": "c",
                            "ts": "2026-12-07T12:00:00.000000Z",
                            "model": "ranker@1",
                            "model_digest": v1["digest"],
                        },
                    ]
                },
            )
        ]
    )
    got = {
        t["trace_id"]: (t["model_version"], t["model_digest"], t["resolved"]) for t in client.serving_traces()
    }
    assert got == {
        "a": (2, v2["digest"], "ingest"),
        "b": (1, v1["digest"], "deployment"),
        "c": (None, v1["digest"], "client"),
    }
    with pytest.raises(ValidationError, match="is in the batch twice"):
        client.record_traces([{"trace_id": "z"}, {"trace_id": "z"}])
    with pytest.raises(ValidationError, match=r"traces\[0\].facts.latency_ms"):
        client.record_traces([{"latency_ms": "fast"}])
    with pytest.raises(ValidationError, match="unknown field"):
        client.append(
            [
                NewEvent(
                    "ServingTraces",
                    {"traces": [{"trace_id": "d", "ts": "2026-12-07T12:00:00.000000Z", "prompt_text": "hi"}]},
                )
            ]
        )


def test_traces_checked_once_are_sealed_as_the_spec_would_check_them() -> None:
    """``sealable`` skips the spec's second pass over traces ``normalise`` checked: the payloads (and their
    canonical bytes, which the hash chain covers) must be what that pass would have made."""
    raw = [
        {"trace_id": "a", "endpoint": "bot", "model": "chat@production", "latency_ms": 12.0, "cost": 1e-07,
         "input_tokens": 7.0, "status": "error", "note": "é ✓",
         "tool_spans": ["search", {"name": "db", "ms": 2}],
         "retrieved": [["c1", None, "d1", 0.5], {"chunk_id": "c2", "score": 1}, "c3"]},
        {"trace_id": "b", "ts": "2026-12-07T12:00:00Z", "model_digest": "sha256:" + "ab" * 32,
         "attributes": {"retrieval.documents.0.document.id": "doc-9", "gen_ai.usage.input_tokens": 3}},
        {"inputs_digest": "sha256:" + "cd" * 32, "flag": True, "big": 2**40},
    ]
    traces = [normalise(r) for r in raw]
    events = to_events(traces, dropped=2, sampled_out=3, sample_rate=0.5)
    sealed = sealable(events, "me")
    full = pipeline.prepare([NewEvent(e.type, e.payload, e.id, e.ts, "me") for e in events])
    assert [(e.id, e.payload, e.actor) for e in sealed] == [(e.id, e.payload, e.actor) for e in full]
    assert [canonical_json(e.payload) for e in sealed] == [canonical_json(e.payload) for e in full]
    assert sealable(to_events(traces))[0].actor  # stamped with this process's user when none is given
    with pytest.raises(ValidationError, match=r"traces\[1\].trace_id.*in the batch twice"):
        sealable(to_events([traces[0], traces[0]]))


def test_otel_and_openinference_attributes_map_to_chunks() -> None:
    attributes = {
        "gen_ai.retrieval.documents": json.dumps(
            [
                {"id": "c-1", "score": 0.95},
                {"id": "c-2", "score": 0.5, "content": "hello", "metadata": {"doc_id": "d-2"}},
            ]
        ),
        "retrieval.documents.1.document.id": "c-4",
        "retrieval.documents.1.document.score": 0.25,
        "retrieval.documents.0.document.id": "c-3",
        "retrieval.documents.0.document.metadata": json.dumps({"ref_doc_id": "d-3", "hash": "ab" * 32}),
        "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 30,
        "gen_ai.response.model": "gpt-x",
        "gen_ai.data_source.id": "kb@2",
        "gen_ai.operation.name": "chat",
        "unrelated.attr": 1,
    }
    rows = otel.retrieved(attributes)
    assert rows == [
        ["c-1", None, None, 0.95],
        ["c-2", "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", "d-2", 0.5],
        ["c-3", "sha256:" + "ab" * 32, "d-3", None],
        ["c-4", None, None, 0.25],
    ]
    trace = normalise({"endpoint": "bot", "attributes": attributes, "latency_ms": 5})
    assert trace["index"] == "kb@2" and trace["retrieved"] == rows
    assert trace["facts"] == {
        "latency_ms": 5,
        "input_tokens": 120,
        "output_tokens": 30,
        "provider_model": "gpt-x",
        "operation": "chat",
    }
    # dotted keyword facts are attributes too; the caller's own facts win over mapped ones
    assert normalise({"gen_ai.usage.input_tokens": 9, "input_tokens": 3})["facts"] == {"input_tokens": 3}


def _index(client: Client, folder: Path) -> tuple[dict, str, str]:
    """A corpus version, an embedding model and an embedding index DERIVED_FROM both (as the index feature
    records one)."""
    from mlineage import events as ev

    corpus = folder / "corpus"
    corpus.mkdir()
    for s in range(2):
        with (corpus / f"part-{s}.jsonl").open("w") as f:
            for i in range(20):
                f.write(
                    json.dumps(
                        {
                            "id": f"doc-{s}-{i}",
                            "text": f"text {s} {i}",
                            "source": "wiki",
                            "license": "cc-by-sa-4.0" if s else "cc0-1.0",
                        }
                    )
                    + "\n"
                )
    added = client.add_corpus(corpus, name="kb")
    (folder / "minilm.bin").write_text("embedding weights\n")
    embedder = client.record_artifact(folder / "minilm.bin", kind="model", name="minilm")
    client.record_licence(str(embedder.digest), "apache-2.0")
    index = "sha256:" + "1" * 64
    client.append(
        [
            NewEvent(ev.ARTIFACT_RECORDED, {"digest": index, "kind": "embedding_index", "name": "kb-index"}),
            NewEvent(ev.ARTIFACT_DERIVED, {"parent": added["digest"], "child": index, "role": "corpus"}),
            NewEvent(
                ev.ARTIFACT_DERIVED,
                {"parent": str(embedder.digest), "child": index, "role": "embedding_model"},
            ),
        ]
    )
    return added, str(embedder.digest), index


def test_explain_answer_walks_to_documents_and_licences(client: Client, tmp_path: Path) -> None:
    corpus, embedder, index = _index(client, tmp_path)
    (v1,) = register_models(client, tmp_path, "assistant", 1)
    client.set_alias("assistant", "production", "@1")
    client.record_licence(v1["digest"], "llama3")
    done = client.record_traces(
        [
            {
                "trace_id": "ans-1",
                "endpoint": "helpdesk",
                "model": "assistant@production",
                "index": "kb-index@1",
                "latency_ms": 410.0,
                "retrieved": [["doc-1-3#0", "sha256:" + "2" * 64, "doc-1-3", 0.9]],
                "attributes": {"retrieval.documents.0.document.id": "doc-0-7"},
            }
        ]
    )
    assert done["recorded"] == 1
    found = client.explain_answer("ans-1")
    assert found["model"]["label"] == "assistant@1" and found["model"]["digest"] == v1["digest"]
    assert found["index"]["digest"] == index and found["index"]["kind"] == "embedding_index"
    assert [c["digest"] for c in found["index"]["corpora"]] == [corpus["digest"]]
    assert [m["digest"] for m in found["index"]["embedding_models"]] == [embedder]
    first, second = found["chunks"]
    assert first["document_id"] == "doc-1-3" and second["document_id"] == "doc-0-7"  # the chunk is a document
    for chunk, licence in ((first, "cc-by-sa-4.0"), (second, "cc0-1.0")):
        (doc,) = chunk["documents"]
        assert (
            doc["corpus"] == corpus["digest"] and doc["licence"] == licence and doc["proof_verified"] is True
        )
    assert found["licences"]["model assistant@1"] == "llama3"
    assert found["licences"]["embedding model minilm@1"] == "apache-2.0"
    assert found["licences"]["document doc-1-3"] == "cc-by-sa-4.0"
    assert found["licences"]["corpus kb@1"] == "cc-by-sa-4.0 AND cc0-1.0"
    assert found["gaps"] == []

    # a chunk registered resolvers know nothing of, an index nobody recorded: said, not failed
    client.record_traces([{"trace_id": "ans-2", "index": "other-index@3", "retrieved": ["x-9"]}])
    gaps = client.explain_answer("ans-2")["gaps"]
    assert any("other-index@3 is not a recorded artifact" in g for g in gaps)
    assert any("x-9" in g for g in gaps)
    with pytest.raises(NotFoundError, match="no serving trace 'nope'"):
        client.explain_answer("nope")
