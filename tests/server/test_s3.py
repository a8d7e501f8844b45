"""The server with PostgreSQL metadata and an S3 artifact store (a real S3-protocol server on loopback: moto)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import ServerProcess, admin_token, free_port


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("boto3")
    pytest.importorskip("moto")
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if process.poll() is not None:
                raise RuntimeError(log.read_text())
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait()


def test_blobs_round_trip_through_s3(backend_uri: str, moto_endpoint: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                       ("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_ENDPOINT_URL", moto_endpoint)):
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(key, raising=False)
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    server = ServerProcess(backend_uri, f"s3://{bucket}/team", log_dir=tmp_path)
    token = admin_token(backend_uri)
    try:
        server.start()
        data = b"a model in S3" * 1000
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        with httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"},
                          timeout=60) as c:
            assert c.put(f"/blobs/{digest}", content=data).status_code == 201
            assert c.get(f"/blobs/{digest}").content == data
            assert c.get("/blobs/sha256:" + "0" * 64).status_code == 404
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        hexdigest = digest.split(":")[1]
        assert keys == [f"team/sha256/{hexdigest[:2]}/{hexdigest[2:]}"]  # in the bucket, not on local disk
    finally:
        server.stop()
