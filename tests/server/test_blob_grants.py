"""Blobs follow proof of possession: a namespace reads the bytes it sent, never bytes it only named.

Two namespaces against a real server (SQLite and PostgreSQL). Team B uploads and records a model; team A
knows its digest (digests travel in pointer files and exports) and records an artifact under it, and still
cannot download it, nor learn that the server has it, until A sends the bytes itself.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import httpx
import pytest

from mlineage.blobs.http import HttpBlobStore
from mlineage.model import Digest

from .conftest import ServerProcess, admin_token

MODEL = b"team b's model weights " * 512
DIGEST = "sha256:" + hashlib.sha256(MODEL).hexdigest()
FILE = b"a file inside team b's directory artifact"
FILE_DIGEST = "sha256:" + hashlib.sha256(FILE).hexdigest()


def _client(server: ServerProcess, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"},
                        timeout=60)


@pytest.fixture(scope="module")
def tokens(server: ServerProcess) -> dict[str, str]:
    """Tokens of two teams and one for every namespace (the server fixture is this module's own: the test
    restarts it)."""
    with _client(server, admin_token(server.store_uri)) as admin:
        made = {}
        for ns in ("team-a", "team-b"):
            response = admin.post("/tokens", json={"name": ns, "scopes": ["read", "write"], "namespace": ns})
            assert response.status_code == 201, response.text
            made[ns] = response.json()["token"]
        made["*"] = admin_token(server.store_uri)
    return made


def _record(c: httpx.Client, digest: str, name: str) -> None:
    event = {"id": uuid.uuid4().hex, "type": "ArtifactRecorded",
             "payload": {"digest": digest, "kind": "model", "name": name}}
    assert c.post("/events/batch", json={"events": [event]}).status_code == 200


def test_a_digest_alone_grants_nothing_and_sent_bytes_do(server: ServerProcess,
                                                          tokens: dict[str, str]) -> None:
    with _client(server, tokens["team-b"]) as b, _client(server, tokens["team-a"]) as a:
        assert b.put(f"/blobs/{DIGEST}", content=MODEL).status_code == 201
        assert b.put(f"/blobs/{FILE_DIGEST}", content=FILE).status_code == 201  # a blob no record names
        _record(b, DIGEST, "b-model")
        assert b.get(f"/blobs/{DIGEST}").content == MODEL

        # A knows the digests: it cannot read the bytes, nor tell that the server has them
        for digest in (DIGEST, FILE_DIGEST):
            assert a.get(f"/blobs/{digest}").status_code == 404
            assert a.head(f"/blobs/{digest}").status_code == 404
        assert a.post("/blobs/missing", json={"digests": [DIGEST, FILE_DIGEST]}).json()["missing"] == [
            DIGEST, FILE_DIGEST]
        started = a.post("/blobs/uploads", json={"digest": DIGEST, "size": len(MODEL)})
        assert started.status_code == 201 and started.json()["exists"] is False

        # recording an artifact under the digest is not proof of possession
        _record(a, DIGEST, "a-claims-it")
        assert a.get(f"/artifacts/{DIGEST}").status_code == 200
        refused = a.get(f"/blobs/{DIGEST}")
        assert refused.status_code == 404 and refused.json()["error"]["type"] == "NotFoundError"
        assert a.head(f"/blobs/{DIGEST}").status_code == 404
        out = "sha256:" + hashlib.sha256(b"a's output").hexdigest()
        assert a.post("/events/batch", json={"events": [
            {"id": uuid.uuid4().hex, "type": t, "payload": body} for t, body in (
                ("RunStarted", {"run_id": "a-run", "job": "finetune"}),
                ("ArtifactUsed", {"run_id": "a-run", "digest": DIGEST}),
                ("ArtifactRecorded", {"digest": out, "kind": "model"}),
                ("ArtifactProduced", {"run_id": "a-run", "digest": out}))]}).status_code == 200
        closure = a.get("/closure", params={"ref": out}).json()  # the blob is not A's: not reproducible
        assert closure["reproducible"] is False and any(DIGEST[7:15] in m for m in closure["missing"])

        # sending the bytes is: through the upload session A started...
        upload_id = started.json()["upload_id"]
        a.patch(f"/blobs/uploads/{upload_id}", content=MODEL,
                headers={"Upload-Offset": "0", "Content-Type": "application/octet-stream"})
        assert a.post(f"/blobs/uploads/{upload_id}/complete").status_code == 201
        assert a.get(f"/blobs/{DIGEST}").content == MODEL
        assert a.head(f"/blobs/{DIGEST}").status_code == 200
        assert not any(DIGEST[7:15] in m for m in a.get("/closure", params={"ref": out}).json()["missing"])
        # ... or in one PUT; the answer speaks of A's namespace only (201: A did not hold it before)
        assert a.put(f"/blobs/{FILE_DIGEST}", content=FILE).json()["stored"] is True
        assert a.put(f"/blobs/{FILE_DIGEST}", content=FILE).status_code == 200
        assert a.get(f"/blobs/{FILE_DIGEST}").content == FILE
        # bytes that do not match grant nothing
        other = "sha256:" + hashlib.sha256(b"never sent").hexdigest()
        assert a.put(f"/blobs/{other}", content=b"forged").status_code == 400
        assert a.head(f"/blobs/{other}").status_code == 404

    # one copy is stored whatever number of namespaces sent it
    stored = Path(server.artifacts) / "sha256" / DIGEST[7:9] / DIGEST[9:]
    assert stored.read_bytes() == MODEL


def test_grants_survive_a_restart_and_tokens_for_every_namespace_see_all(
        server: ServerProcess, tokens: dict[str, str]) -> None:
    late = b"uploaded by b after a's proof"
    late_digest = "sha256:" + hashlib.sha256(late).hexdigest()
    with _client(server, tokens["team-a"]) as a:  # on its own: tests may run apart, on another worker
        assert a.put(f"/blobs/{DIGEST}", content=MODEL).status_code in (200, 201)
    with _client(server, tokens["team-b"]) as b:
        assert b.put(f"/blobs/{late_digest}", content=late).status_code == 201
    server.stop()
    server.start()
    with _client(server, tokens["team-a"]) as a, _client(server, tokens["team-b"]) as b, \
            _client(server, tokens["*"]) as everyone:
        assert a.get(f"/blobs/{DIGEST}").content == MODEL  # granted before the restart
        assert b.get(f"/blobs/{late_digest}").content == late
        assert a.get(f"/blobs/{late_digest}").status_code == 404
        assert everyone.get(f"/blobs/{late_digest}").content == late
        assert everyone.head(f"/blobs/{late_digest}").status_code == 200


def test_the_sdk_sends_bytes_its_namespace_has_not_proved_and_skips_them_after(
        server: ServerProcess, tokens: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"shared bytes both teams have"
    digest = Digest.sha256(hashlib.sha256(data).hexdigest())
    b = HttpBlobStore(server.url, token=tokens["team-b"], queue_dir=tmp_path / "qb")
    a = HttpBlobStore(server.url, token=tokens["team-a"], queue_dir=tmp_path / "qa")
    try:
        assert b.put_bytes(data) == digest
        sent: list[Digest] = []
        real_put = a._put_whole

        def counting(d: Digest, body: bytes) -> None:
            sent.append(d)
            real_put(d, body)

        monkeypatch.setattr(a, "_put_whole", counting)
        assert not a.has(digest)
        a.put_bytes(data)  # the server has the bytes, A has not proved it has them: they are sent
        assert sent == [digest] and a.has(digest)
        a.put_bytes(data)  # now they are A's: not sent again
        assert sent == [digest]
        with a.open(digest) as handle:
            assert handle.read() == data
    finally:
        a.close()
        b.close()
