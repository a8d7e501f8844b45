"""Embedding index versions, federated rounds, human edits and LLM incidents through the ledger on both
backends: each recorded as runs and typed nodes, refused input writing nothing, each projection rebuilt row
for row, the new node kinds in trace, JSON, DOT and Mermaid, and as of an earlier point in the ledger."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mlineage.errors import ValidationError
from mlineage.formats import to_dot, to_mermaid
from mlineage.graph.wire import lineage_to_wire
from mlineage.llm.chunking import ChunkerConfig, chunk_document
from mlineage.llm.embedders import HashingEmbedder
from mlineage.llm.federated import pseudonym
from mlineage.llm.federated_recorder import FederatedRecorder, ReceivedUpdate
from mlineage.llm.records import records_for
from mlineage.sdk.client import Client
from mlineage.sdk.run import run


def _corpus(root: Path, docs: int = 30) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for s in range(2):
        with (root / f"part-{s}.jsonl").open("w") as f:
            for i in range(docs):
                words = " ".join(f"w{(i * 7 + j) % 50}" for j in range(10 + i))
                record = {"id": f"d-{s}-{i}", "text": f"topic {s}. {words}.", "licence": "cc-by-4.0"}
                f.write(json.dumps(record) + "\n")
    return root


def _head(client: Client) -> int:
    return client.store.head()[0]


def _table(client: Client, sql: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in records_for(client.store).rows(sql, {})]


def _kinds(result: object) -> set[str]:
    return {n.kind.value for n in result.nodes.values()}  # type: ignore[attr-defined]


def test_chunks_have_stable_ids_and_content_hashes() -> None:
    config = ChunkerConfig("words", 4, 1)
    chunks = chunk_document("doc", "a b c d e f g h i j", config)
    assert [c.text for c in chunks] == ["a b c d", "d e f g", "g h i j"]
    assert chunks[0].content_hash == hashlib.sha256(b"a b c d").hexdigest()
    assert chunk_document("doc", "a b c d e f g h i j", config) == chunks
    assert chunk_document("doc", "a b c d e f g X i j", config)[:2] == chunks[:2]  # only the changed chunk
    assert chunk_document("other", "a b c d", config)[0].id != chunks[0].id
    assert [c.text for c in chunk_document("d", "One. Two! Three?", ChunkerConfig("sentences", 2, 0))] == [
        "One. Two!", "Three?"]
    with pytest.raises(ValidationError, match="overlap"):
        ChunkerConfig("words", 4, 4)


def test_embedding_index_versions(client: Client, tmp_path: Path) -> None:
    pytest.importorskip("lancedb")
    source = _corpus(tmp_path / "corpus")
    corpus = client.add_corpus(source, name="kb")
    first = client.build_index(source, embedder=HashingEmbedder(16), chunker=ChunkerConfig("words", 12, 3),
                               name="kb-index", corpus="kb@1", params={"metric": "cosine"},
                               store_uri=str(tmp_path / "lance"))
    assert first["corpus"] == corpus["digest"] and first["store"]["version"] == 1
    assert first["store"]["rows"] == first["chunks"] > first["documents"] == 60
    info = client.index_info("kb-index@1")
    assert info["corpus"]["label"] == "kb@1" and info["embedding_model"]["label"] == "hashing-16@1"
    assert info["params"] == {"metric": "cosine"} and info["chunks"] == first["chunks"]
    seq_after_first = _head(client)

    # another chunker: another index version, and a new LanceDB table version
    second = client.build_index(source, embedder=HashingEmbedder(16), chunker=ChunkerConfig("words", 20, 0),
                                name="kb-index", corpus="kb@1", params={"metric": "cosine"},
                                store_uri=str(tmp_path / "lance"))
    assert second["digest"] != first["digest"] and second["version"] == 2 and second["store"]["version"] == 2
    from mlineage.llm.vectorstore import search_lancedb

    query = HashingEmbedder(16).embed(["topic 1. w3 w10"])[0]
    hit = search_lancedb(str(tmp_path / "lance"), "kb-index", query)
    assert hit[0]["index"] == second["digest"] and hit[0]["content_hash"] == hashlib.sha256(
        hit[0]["text"].encode()).hexdigest()

    trace = client.trace("kb-index@2")
    assert {"embedding_index", "corpus", "model"} <= _kinds(trace)
    roles = {(e[2], e[3]) for e in trace.edges}
    assert {("DERIVED_FROM", "corpus"), ("DERIVED_FROM", "embedding_model"), ("USED", "corpus"),
            ("PRODUCED", "index")} <= roles
    assert [r.kind.value for r in trace.nodes.values() if hasattr(r, "job")] == ["index_build"]
    # time travel: as of the first build, the corpus reached one index version
    assert {n.label for n in client.impact("kb@1", as_of=seq_after_first).nodes.values()
            if getattr(n, "kind", None) and n.kind.value == "embedding_index"} == {"kb-index@1"}
    assert len({n.label for n in client.impact("kb@1").nodes.values()
                if n.kind.value == "embedding_index"}) == 2

    # the shards changed since kb@1: refused, nothing written
    with (source / "part-0.jsonl").open("a") as f:
        f.write(json.dumps({"id": "d-new", "text": "late"}) + "\n")
    head = _head(client)
    with pytest.raises(ValidationError, match="are not kb@1 any more"):
        client.build_index(source, embedder=HashingEmbedder(16), chunker=ChunkerConfig(), name="kb-index",
                           corpus="kb@1")
    assert _head(client) == head

    sql = "SELECT index_digest, chunk_id, doc_id, start, content_hash, seq FROM index_chunks ORDER BY 1, 2"
    chunks, indexes = _table(client, sql), _table(client, "SELECT * FROM embedding_indexes ORDER BY seq")
    client.rebuild()
    assert _table(client, sql) == chunks and len(chunks) == first["chunks"] + second["chunks"]
    assert _table(client, "SELECT * FROM embedding_indexes ORDER BY seq") == indexes


def test_a_tampered_index_record_is_refused(client: Client, tmp_path: Path) -> None:
    from mlineage.events import NewEvent

    rows = [c.row() for c in chunk_document("d", "a b c", ChunkerConfig("words", 2, 0))]
    payload = {"digest": "sha256:" + "ab" * 32, "name": "x", "corpus": "sha256:" + "cd" * 32,
               "embedding_model": "sha256:" + "ef" * 32, "chunker": ChunkerConfig("words", 2, 0).to_json(),
               "params": {}, "chunks": rows, "store": {}}
    head = _head(client)
    with pytest.raises(ValidationError, match="is not the index's identity"):
        client.append([NewEvent("EmbeddingIndexVersioned", payload)])
    assert _head(client) == head


def _fedavg(updates: list[tuple[list[float], int]]) -> list[float]:
    total = sum(n for _, n in updates)
    return [sum(w[i] * n for w, n in updates) / total for i in range(len(updates[0][0]))]


def test_federated_rounds_simulated(client: Client) -> None:
    secret = b"federation secret"
    clients = {pseudonym(f"hospital-{k}", secret): [float(k), float(k + 1)] for k in range(3)}
    assert all(c.startswith("client-") and "hospital" not in c for c in clients)
    recorder = FederatedRecorder("fl-demo", _fedavg, {"fraction_fit": 1.0, "min_fit_clients": 3},
                                 initial_model=json.dumps([0.0, 0.0]).encode(), client=client)
    weights = [0.0, 0.0]
    for number in (1, 2, 3):
        received, local = [], []
        for k, (cid, data) in enumerate(sorted(clients.items())):
            update = [w + (x - w) * 0.5 + number for w, x in zip(weights, data, strict=True)]
            raw = json.dumps(update).encode()
            received.append(ReceivedUpdate(cid, raw, "sha256:" + hashlib.sha256(raw).hexdigest(), 10 + k))
            local.append((update, 10 + k))
        weights = _fedavg(local)
        recorder.record_round(number, received, json.dumps(weights).encode())

    # a declared digest that does not match the bytes: the whole round refused, nothing written
    head = _head(client)
    bad = [ReceivedUpdate(next(iter(clients)), b"tampered", "sha256:" + "0" * 64)]
    with pytest.raises(ValidationError, match="declares sha256:0000"):
        recorder.record_round(4, bad, b"[9, 9]")
    assert _head(client) == head

    rounds = client.federated_rounds("fl-demo")
    assert [r["round"] for r in rounds] == [1, 2, 3]
    assert all(len(r["updates"]) == 3 for r in rounds)
    assert rounds[1]["previous"] == rounds[0]["global"] and rounds[0]["previous"] is not None
    strategy = rounds[0]["strategy"]
    assert strategy["name"] == "_fedavg" and strategy["params"]["min_fit_clients"] == 3
    assert {u["client"] for u in rounds[2]["updates"]} == set(clients)

    trace = client.trace(rounds[2]["global"])
    assert sum(1 for n in trace.nodes.values() if n.kind.value == "client_update") == 9
    assert sum(1 for n in trace.nodes.values() if n.kind.value == "federated_round") == 3
    run_params = [n.params for n in trace.nodes.values() if n.kind.value == "federated_round"]
    assert sorted(p["group_id"] for p in run_params) == [1, 2, 3]
    # a recorder opened later continues from the last global model
    assert FederatedRecorder("fl-demo", _fedavg, client=client).previous == rounds[2]["global"]

    sql = "SELECT federation, round, client, digest, size, examples, seq FROM federated_updates ORDER BY 2, 3"
    before = _table(client, sql)
    client.rebuild()
    assert _table(client, sql) == before and len(before) == 9


def test_human_edits_and_a_labelling_round(client: Client, tmp_path: Path) -> None:
    (tmp_path / "w0.bin").write_bytes(b"weights v0")
    (tmp_path / "w1.bin").write_bytes(b"weights v1, one neuron zeroed")
    (tmp_path / "p0.txt").write_text("You are a helpful assistant.")
    (tmp_path / "p1.txt").write_text("You are a helpful assistant. Cite your sources.")
    edit = client.record_edit("weight_edit", person="alice", reason="remove a memorised phone number",
                              before=str(tmp_path / "w0.bin"), after=str(tmp_path / "w1.bin"), item="layer 3",
                              kind="model", name="lm")
    client.record_edit("prompt_edit", person="bob", reason="answers must cite",
                       before=str(tmp_path / "p0.txt"), after=str(tmp_path / "p1.txt"), name="system-prompt")
    client.record_edit("approval", person="carol", reason="reviewed for release", before="lm@2")
    head = _head(client)
    with pytest.raises(ValidationError, match="needs a reason"):
        client.record_edit("weight_edit", person="alice", reason=" ", before="lm@1", after="lm@2")
    with pytest.raises(ValidationError, match="approval changes nothing"):
        client.record_edit("approval", person="carol", reason="ok", before="lm@1", after="lm@2")
    assert _head(client) == head

    trace = client.trace("lm@2")
    runs = [n for n in trace.nodes.values() if hasattr(n, "job")]
    assert [(r.kind.value, r.job) for r in runs] == [("human_edit", "weight edit by alice")]
    assert runs[0].params["reason"] == "remove a memorised phone number" and edit["item"] == "layer 3"

    export = tmp_path / "round-1.csv"
    export.write_text("item_id,old_label,new_label,annotator,comment\n"
                      "img-1,cat,dog,dana,mislabelled\nimg-2,dog,fox,erin,\n")
    with pytest.raises(ValidationError, match="no reason"):
        client.import_labels(export)
    assert _head(client) == head
    imported = client.import_labels(export, reason="labelling round 1")
    assert imported["changes"] == 2 and imported["written"]
    assert client.import_labels(export, reason="labelling round 1")["written"] is False  # idempotent
    (tmp_path / "round-2.json").write_text(json.dumps(
        [{"item": "img-1", "before": "dog", "after": "cat", "person": "frank", "reason": "dana was wrong"}]))
    client.import_labels(tmp_path / "round-2.json")

    found = client.human_edits()
    assert [(e["edit"], e["person"]) for e in found] == [
        ("weight_edit", "alice"), ("prompt_edit", "bob"), ("approval", "carol"), ("label_correction", "dana"),
        ("label_correction", "erin"), ("label_correction", "frank")]
    assert [e["reason"] for e in client.human_edits("erin")] == ["labelling round 1"]
    # the label went cat -> dog -> cat: the second cat is a new occurrence of the same content
    label = client.trace(found[-1]["after"])
    assert label.count >= 3 and "label" in _kinds(label)

    sql = ("SELECT run_id, edit, person, before_digest, after_digest, reason, item, seq FROM human_edits "
           "ORDER BY seq")
    before = _table(client, sql)
    client.rebuild()
    assert _table(client, sql) == before


def test_incident_from_a_bad_document(client: Client, tmp_path: Path) -> None:
    pytest.importorskip("lancedb")
    source = _corpus(tmp_path / "corpus", docs=10)
    client.add_corpus(source, name="kb")
    client.build_index(source, embedder=HashingEmbedder(8), chunker=ChunkerConfig("words", 8, 0),
                       name="kb-index", corpus="kb@1")
    (tmp_path / "ft.bin").write_bytes(b"fine-tuned weights")
    with run("fine-tune", client=client, capture=False) as r:
        r.use("kb@1", role="corpus")
        r.produce(tmp_path / "ft.bin", name="ft", kind="model")
    client.register_model("ft@1", "assistant")
    client.set_alias("assistant", "production", "@1")
    client.deploy("assistant@production", "chat-api", "prod")

    opened = client.open_incident("doc:d-1-4", reason="personal data in a document")
    assert client.artifact(opened["digest"]).kind.value == "corpus_document"
    impact = client.incident_impact(opened["id"])
    assert [(v["name"], v["version"]) for v in impact["versions"]] == [("assistant", 1)]
    assert impact["versions"][0]["path"][:2] == ["d-1-4@1", "kb@1"]
    assert [e["endpoint"] for e in impact["endpoints"]] == ["chat-api"]
    reached = {(r["kind"], r["label"]) for r in impact["reached"]}
    assert {("embedding_index", "kb-index@1"), ("model", "ft@1"), ("corpus", "kb@1")} <= reached

    # every new node kind in every output format
    result = client.impact(opened["digest"])
    dot, mermaid = to_dot(result.nodes, result.edges, result.root), to_mermaid(result.nodes, result.edges,
                                                                               result.root)
    wire = json.dumps(lineage_to_wire(result))
    for shown in ("corpus_document", "embedding_index", "run index kb-index"):
        assert shown in dot and shown in mermaid
    assert '"kind": "corpus_document"' in wire and '"kind": "index_build"' in wire
    with pytest.raises(Exception, match="no recorded corpus version holds"):
        client.open_incident("doc:never", reason="x")


def test_explain_answer_finds_a_chunks_document_through_the_index(client: Client, tmp_path: Path) -> None:
    pytest.importorskip("lancedb")
    source = _corpus(tmp_path / "corpus", docs=5)
    client.add_corpus(source, name="kb")
    client.build_index(source, embedder=HashingEmbedder(8), chunker=ChunkerConfig("words", 8, 0),
                       name="kb-index", corpus="kb@1", store_uri=str(tmp_path / "lance"))
    index = client.resolve("kb-index@1")
    (chunk_id, doc_id, content_hash) = next(iter(_table(
        client, "SELECT chunk_id, doc_id, content_hash FROM index_chunks WHERE doc_id = 'd-1-2'")))
    retrieved = [[chunk_id, f"sha256:{content_hash}"], [chunk_id, "sha256:" + "0" * 64]]
    client.record_traces([{"trace_id": "a-1", "index": "kb-index@1", "retrieved": retrieved}])
    found = client.explain_answer("a-1")
    assert found["index"]["digest"] == str(index.digest)  # type: ignore[union-attr]
    same, other = found["chunks"]
    assert same["document_id"] == other["document_id"] == doc_id == "d-1-2"
    assert [d["licence"] for d in same["documents"]] == ["cc-by-4.0"]
    assert same["content_match"] is True and other["content_match"] is False
