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
