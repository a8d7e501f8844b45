"""A remote Client (MLINEAGE_URI=http://...) records and proves LLM lineage as an embedded one does: the
writes are events through the server's append, the proofs and look-ups come from ``/api/v1/llm``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from .conftest import ServerProcess, admin_token


def test_remote_corpus_and_online_proofs(server: ServerProcess, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from mlineage.llm import OnlineRecorder
    from mlineage.sdk.client import Client

    monkeypatch.setenv("MLINEAGE_TOKEN", admin_token(server.store_uri))
    remote = Client.for_uri(server.url, tmp_path / "remote-objects")
    local = Client.for_uri(server.store_uri, server.artifacts)
    try:
        corpus = tmp_path / "corpus"
        corpus.mkdir()
        lines = [json.dumps({"id": f"r{i}", "text": str(i), "licence": "cc0-1.0"}) for i in range(9)]
        (corpus / "a.jsonl").write_text("\n".join(lines) + "\n")
        added = remote.add_corpus(corpus, name="remote-corpus")
        proof = remote.prove_document(added["digest"], "r4")
        assert proof["verified"] and proof == local.prove_document(added["digest"], "r4")
        assert [f["corpus"] for f in remote.find_document("r4")] == [added["digest"]]

        recorder = OnlineRecorder("remote-model", every=5, client=remote)
        digest = [recorder.update(f"p{i}".encode()) for i in range(5)][-1]
        assert digest is not None
        packet = hashlib.sha256(b"p3").hexdigest()
        assert remote.prove_packet(digest, packet)["index"] == 3
    finally:
        remote.close()
        local.close()


def test_remote_index_federated_edits_and_document_incident(server: ServerProcess, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The index build, a federated round, a human edit and an incident on a bad document go through the
    server's append and read back the same through the embedded store."""
    from mlineage.llm.chunking import ChunkerConfig
    from mlineage.llm.embedders import HashingEmbedder
    from mlineage.llm.federated_recorder import FederatedRecorder, ReceivedUpdate
    from mlineage.sdk.client import Client

    monkeypatch.setenv("MLINEAGE_TOKEN", admin_token(server.store_uri))
    remote = Client.for_uri(server.url, tmp_path / "remote-objects")
    local = Client.for_uri(server.store_uri, server.artifacts)
    try:
        corpus = tmp_path / "kb"
        corpus.mkdir()
        lines = [json.dumps({"id": f"kb{i}", "text": f"answer {i} about topic {i % 3}"}) for i in range(6)]
        (corpus / "a.jsonl").write_text("\n".join(lines) + "\n")
        index = remote.build_index(corpus, embedder=HashingEmbedder(8), chunker=ChunkerConfig("words", 2, 0),
                                   name="remote-index")
        assert local.index_info(index["digest"])["chunks"] == index["chunks"] == 18
        assert remote.index_info("remote-index@1") == local.index_info("remote-index@1")

        update = b"[1.0, 2.0]"
        recorder = FederatedRecorder("remote-fl", lambda u: u, {"k": 1}, client=remote)
        declared = "sha256:" + hashlib.sha256(update).hexdigest()
        recorder.record_round(1, [ReceivedUpdate("client-a", update, declared)], b"[0.5, 1.0]")
        assert [r["round"] for r in local.federated_rounds("remote-fl")] == [1]
        assert remote.federated_rounds("remote-fl") == local.federated_rounds("remote-fl")
        assert FederatedRecorder("remote-fl", len, client=remote).previous == recorder.previous

        (tmp_path / "p0.txt").write_text("prompt v0")
        (tmp_path / "p1.txt").write_text("prompt v1")
        edit = remote.record_edit("prompt_edit", person="bob", reason="tone", before=str(tmp_path / "p0.txt"),
                                  after=str(tmp_path / "p1.txt"))
        assert [e["run_id"] for e in local.human_edits("bob")] == [edit["run_id"]]
        assert remote.human_edits("bob") == local.human_edits("bob") and remote.human_edits()

        opened = remote.open_incident("doc:kb4", reason="bad answer")
        reached = {(r["kind"], r["label"]) for r in remote.incident_impact(opened["id"])["reached"]}
        assert ("embedding_index", "remote-index@1") in reached
    finally:
        remote.close()
        local.close()
