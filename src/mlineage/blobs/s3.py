"""An S3-compatible content-addressed store: ``s3://bucket/prefix`` holding ``prefix/sha256/ab/cdef...``.

An object appears under its digest key only when its upload is complete (S3 PUT and CompleteMultipartUpload
are atomic), large files go up in multipart chunks, and every download is re-hashed before it is placed.
Endpoint and credentials come from the usual AWS settings (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``,
profiles...) unless ``endpoint_url`` is given.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, BinaryIO
from urllib.parse import urlsplit

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from ..errors import ConfigError, IntegrityError, NotFoundError, StoreUnavailableError, ValidationError
from ..hashing import BUFFER_SIZE, hash_bytes, hash_file
from ..model import Digest
from .placement import publish, removed_on_failure

MULTIPART_THRESHOLD = 64 << 20
MULTIPART_CHUNK = 32 << 20


class S3BlobStore:
    def __init__(self, uri: str, *, endpoint_url: str | None = None, region: str | None = None) -> None:
        parts = urlsplit(uri)
        if parts.scheme != "s3" or not parts.netloc:
            raise ConfigError(f"{uri!r} is not an S3 URI: write it as s3://bucket/prefix")
        self.uri = uri.rstrip("/")
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self.endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get(
            "AWS_ENDPOINT_URL")
        config = Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"},
                        max_pool_connections=16)
        session = boto3.session.Session()
        self.client = session.client("s3", endpoint_url=self.endpoint_url, region_name=region, config=config)
        self.transfer = TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD,
            multipart_chunksize=MULTIPART_CHUNK,
            max_concurrency=4,
            use_threads=True,
        )

    # ------------------------------------------------------------ naming

    def key_for(self, digest: Digest) -> str:
        name = f"{digest.algorithm}/{digest.hex[:2]}/{digest.hex[2:]}"
        return f"{self.prefix}/{name}" if self.prefix else name

    @property
    def where(self) -> str:
        return f"{self.uri} (endpoint {self.endpoint_url or 'AWS default'})"

    def _fail(self, exc: Exception, action: str) -> Exception:
        """Turn a botocore failure into an error that names the endpoint and says why."""
        if isinstance(exc, EndpointConnectionError):
            return StoreUnavailableError(f"remote {self.where} is unreachable while {action}: {exc}")
        if isinstance(exc, NoCredentialsError):
            return ConfigError(f"remote {self.where}: no AWS credentials found; set AWS_ACCESS_KEY_ID and "
                               "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE")
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            message = exc.response.get("Error", {}).get("Message", "")
            if code == "NoSuchBucket":
                return StoreUnavailableError(f"remote {self.where}: bucket {self.bucket!r} does not exist")
            if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"):
                return StoreUnavailableError(f"remote {self.where}: access denied while {action} ({code}); "
                                             "check the AWS credentials")
            return StoreUnavailableError(f"remote {self.where}: {code or 'error'} while {action}: {message}")
        return StoreUnavailableError(f"remote {self.where}: {action} failed: {exc}")

    # ------------------------------------------------------------ the BlobStore protocol

    def has(self, digest: Digest) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key_for(digest))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise self._fail(exc, "checking an object") from None
        except BotoCoreError as exc:
            raise self._fail(exc, "checking an object") from None

    def put_file(self, path: Path) -> tuple[Digest, int]:
        digest, size = hash_file(path)
        if not self.has(digest):
            self.upload(Path(path), digest)
        return digest, size

    def put_bytes(self, data: bytes) -> Digest:
        digest = hash_bytes(data)
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.key_for(digest), Body=data)
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, "uploading") from None
        return digest

    def open(self, digest: Digest) -> BinaryIO:
        """A verified local copy of the object (spooled to disk past 64 MiB)."""
        spool = tempfile.SpooledTemporaryFile(max_size=64 << 20)  # noqa: SIM115 - returned open to the caller
        self._download_into(digest, spool)
        spool.seek(0)
        return spool  # type: ignore[return-value]

    def close(self) -> None:
        """Nothing to ship: every upload completes before it returns."""

    # ------------------------------------------------------------ transfers

    def check(self) -> None:
        """Fail early with a clear message when the bucket cannot be reached."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket"):
                raise StoreUnavailableError(
                    f"remote {self.where}: bucket {self.bucket!r} does not exist"
                ) from None
            raise self._fail(exc, "opening the bucket") from None
        except BotoCoreError as exc:
            raise self._fail(exc, "opening the bucket") from None

    def iter_digests(self) -> Iterator[Digest]:
        base = f"{self.prefix}/sha256/" if self.prefix else "sha256/"
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=base
            ):
                for item in page.get("Contents", []):
                    rest = item["Key"][len(base):].replace("/", "")
                    try:
                        yield Digest.sha256(rest)
                    except ValidationError:
                        continue
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, "listing objects") from None

    def missing(self, digests: Sequence[Digest]) -> list[Digest]:
        """Which of these objects the bucket lacks: one listing of the prefix rather than a request each."""
        have = set(self.iter_digests())
        return [d for d in digests if d not in have]

    def upload(self, path: Path, digest: Digest, on_bytes: Callable[[int], None] | None = None) -> None:
        """Upload under the digest key; multipart past 64 MiB. The key exists only once the upload
        completes."""
        try:
            self.client.upload_file(str(path), self.bucket, self.key_for(digest), Config=self.transfer,
                                    Callback=on_bytes)
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, f"uploading {digest.short}") from None
        except Exception as exc:  # noqa: BLE001 - s3transfer wraps failures in its own types
            raise self._fail(exc, f"uploading {digest.short}") from None

    def _download_into(
        self, digest: Digest, out: IO[bytes], on_bytes: Callable[[int], None] | None = None
    ) -> int:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key_for(digest))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                raise NotFoundError(f"blob {digest} is not in the remote {self.where}") from None
            raise self._fail(exc, f"downloading {digest.short}") from None
        except BotoCoreError as exc:
            raise self._fail(exc, f"downloading {digest.short}") from None
        h = hashlib.sha256()
        size = 0
        try:
            for chunk in body.iter_chunks(BUFFER_SIZE):
                h.update(chunk)
                out.write(chunk)
                size += len(chunk)
                if on_bytes:
                    on_bytes(len(chunk))
        except BotoCoreError as exc:
            raise self._fail(exc, f"downloading {digest.short}") from None
        if h.hexdigest() != digest.hex:
            raise IntegrityError(
                f"blob {digest} from {self.where} is corrupted: it hashes to sha256:{h.hexdigest()}; "
                "it was not placed"
            )
        return size

    def download_to(
        self, digest: Digest, target: Path, on_bytes: Callable[[int], None] | None = None
    ) -> None:
        """Download, re-hash and only then rename to ``target`` (read-only, like every cache object)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".mlineage-tmp-")
        with removed_on_failure(temp):
            with os.fdopen(fd, "wb") as out:
                self._download_into(digest, out, on_bytes)
            publish(temp, target, 0o444)

    def remove(self, digest: Digest) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key_for(digest))
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, "deleting") from None

    def abort_stale_uploads(self) -> int:
        """Abort multipart uploads an interrupted push left behind (they are invisible but cost storage)."""
        count = 0
        try:
            listing = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=self.prefix)
            for upload in listing.get("Uploads", []):
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )
                count += 1
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, "cleaning up multipart uploads") from None
        return count


