"""The server with PostgreSQL metadata and an S3 artifact store (a real S3-protocol server on loopback:
moto)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx

from .conftest import ServerProcess, admin_token


def test_blobs_round_trip_through_s3(
    backend_uri: str, s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> None:
    import boto3

    bucket = s3_bucket
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
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
