"""Blobs between the SDK and the server: by digest, skipped when present, resumable, queued while it is
down."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest

from mlineage.blobs import http as blob_http
from mlineage.blobs.http import HttpBlobStore
from mlineage.errors import ValidationError
from mlineage.model import Digest

from .conftest import ServerProcess, machine, write_token

TRAIN = """
import mlineage
with mlineage.run("train", kind="train", params={"lr": 0.1}) as run:
    run.use("data.csv", kind="dataset")
    with open("model.bin", "wb") as out:
        out.write(b"weights" * 1000)
    run.produce("model.bin", kind="model", name="model")
"""


def _digest(data: bytes) -> Digest:
    return Digest.sha256(hashlib.sha256(data).hexdigest())


def _on_server(server: ServerProcess, digest: Digest) -> bytes | None:
    path = Path(server.artifacts) / "sha256" / digest.hex[:2] / digest.hex[2:]
    return path.read_bytes() if path.exists() else None


def test_any_folder_works_with_only_the_uri_and_a_token(server: ServerProcess, tmp_path: Path) -> None:
    token = write_token(server.store_uri)
    one = machine(tmp_path, "one", server.url, token)
    (one.work / "data.csv").write_text("a,b\n1,2\n")
    one.python(TRAIN)
    model = _digest(b"weights" * 1000)
    assert _on_server(server, model) == b"weights" * 1000  # the bytes went to the server, not a local folder
    two = machine(tmp_path, "two", server.url, token)
    for command in (["trace", "model"], ["runs"], ["verify"], ["show", "model"]):
        two.cli(*command)
    closure = two.cli("closure", "model", check=False)  # basic capture: no manifests, so a gate's exit 1
    assert closure.returncode == 1 and "not reproducible" in closure.stdout
    assert "Traceback" not in closure.stderr
    shown = json.loads(two.cli("show", "model", "--json").stdout)
    assert shown["blob_present"] is True
    assert not (one.work / ".mlineage").exists() and not (two.work / ".mlineage").exists()


def test_an_upload_is_skipped_when_the_server_has_the_digest(server: ServerProcess, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    store = HttpBlobStore(server.url, token=write_token(server.store_uri), queue_dir=tmp_path / "q")
    data = b"known bytes"
    assert store.put_bytes(data) == _digest(data)
    sent: list[str] = []
    monkeypatch.setattr(store, "_put_whole", lambda digest, body: sent.append(str(digest)))
    store.put_bytes(data)
    path = tmp_path / "f"
    path.write_bytes(data)
    store.put_file(path)
    assert sent == []
    store.close()


def test_a_large_blob_goes_up_in_chunks_and_resumes_after_an_interruption(
        server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blob_http, "SINGLE_PUT", 1000)
    monkeypatch.setattr(blob_http, "CHUNK", 1000)
    data = bytes(range(256)) * 20  # 5,120 bytes: six chunks
    digest = _digest(data)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    token = write_token(server.store_uri)
    first = HttpBlobStore(server.url, token=token, queue_dir=tmp_path / "q")
    real_send = first._send
    chunks = 0

    def failing_after_two(method: str, url: str, **kwargs: object) -> object:
        nonlocal chunks
        if method == "PATCH":
            chunks += 1
            if chunks > 2:
                raise KeyboardInterrupt  # the process dies in the middle of the upload
        return real_send(method, url, **kwargs)

    monkeypatch.setattr(first, "_send", failing_after_two)
    with pytest.raises(KeyboardInterrupt):
        first.upload(path, digest)
    first.close()
    session = json.loads((tmp_path / "q" / "sessions" / digest.hex).read_text())["upload_id"]
    with httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"}) as c:
        assert c.get(f"/blobs/uploads/{session}").json()["offset"] == 2000
    second = HttpBlobStore(server.url, token=token, queue_dir=tmp_path / "q")  # the next process
    offsets: list[str] = []
    real_second = second._send

    def recording(method: str, url: str, **kwargs: object) -> object:
        if method == "PATCH":
            offsets.append(kwargs["headers"]["Upload-Offset"])  # type: ignore[index]
        return real_second(method, url, **kwargs)

    monkeypatch.setattr(second, "_send", recording)
    second.upload(path, digest)
    second.close()
    assert offsets == ["2000", "3000", "4000", "5000"]  # resumed, nothing sent twice
    assert _on_server(server, digest) == data
    assert not (tmp_path / "q" / "sessions" / digest.hex).exists()


def test_the_server_stores_only_bytes_that_match_the_digest(server: ServerProcess) -> None:
    token = write_token(server.store_uri)
    claimed = _digest(b"what the client claims")
    with httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"}) as c:
        refused = c.put(f"/blobs/{claimed}", content=b"other bytes")
        assert refused.status_code == 400 and refused.json()["error"]["field"] == "digest"
        started = c.post("/blobs/uploads", json={"digest": str(claimed), "size": 11}).json()
        c.patch(
            f"/blobs/uploads/{started['upload_id']}", content=b"other bytes", headers={"Upload-Offset": "0"}
        )
        done = c.post(f"/blobs/uploads/{started['upload_id']}/complete")
        assert done.status_code == 400 and done.json()["error"]["field"] == "digest"
        assert c.head(f"/blobs/{claimed}").status_code == 404
    assert _on_server(server, claimed) is None


def test_a_file_changed_while_queued_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = HttpBlobStore("http://127.0.0.1:9", token="x", queue_dir=tmp_path / "q")  # nothing listens on 9
    path = tmp_path / "f"
    path.write_bytes(b"after!")
    monkeypatch.setattr(blob_http, "hash_file", lambda p: (_digest(b"before"), 6))  # hashed before the change
    with pytest.raises(ValidationError, match="changed while"):
        store.put_file(path)
    assert store.queue.pending() == []
    store.close()


@pytest.mark.full_capture
def test_during_an_outage_blobs_queue_and_sync_ships_them(server: ServerProcess, tmp_path: Path) -> None:
    token = write_token(server.store_uri)
    one = machine(tmp_path, "one", server.url, token)
    (one.work / "data.csv").write_text("x\n1\n")
    server.stop()
    try:
        one.python(
            TRAIN.replace(b"weights".decode(), "offline")
        )  # the script succeeds while the server is down
    finally:
        server.start()
    model = _digest(b"offline" * 1000)
    assert _on_server(server, model) is None
    out = json.loads(one.cli("sync", "--json").stdout)
    assert out["blobs_shipped"] >= 2 and out["blobs_pending"] == 0  # at least the data file and the model
    assert _on_server(server, model) == b"offline" * 1000
    closure = json.loads(one.cli("closure", "model", "--json").stdout)
    assert closure["reproducible"], closure  # data, code and environment manifests all reached the server
