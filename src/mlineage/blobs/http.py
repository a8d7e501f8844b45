"""The team server's artifact store, reached over HTTP: ``MLINEAGE_URI=https://server`` stores blobs there.

Blobs are addressed by digest, so the client asks before sending (``HEAD /blobs/{digest}``) and sends only
what the server lacks. Small blobs go up in one ``PUT``; larger ones in an upload session, chunk by chunk,
streamed from the file: a dropped connection resumes from the offset the server reports, and the session id
is kept on disk so an upload interrupted by a crash resumes in the next process. The server re-hashes what
it received before storing it. While the server is unreachable, blobs go to a local queue (``queue.py``)
and are shipped later, so a training script never dies on an outage. Downloads are re-hashed before use.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import (
    ConfigError,
    IntegrityError,
    MlineageError,
    NotFoundError,
    StoreUnavailableError,
    ValidationError,
)
from ..hashing import BUFFER_SIZE, hash_bytes, hash_file
from ..model import Digest
from .placement import publish, removed_on_failure
from .queue import BlobQueue

SINGLE_PUT = 8 << 20  # blobs up to this size go up in one request
CHUNK = 8 << 20  # upload-session chunk size (each chunk is one request, well under the server's limit)
RETRIES = 3  # attempts per chunk before the blob is queued for later


def api_base(uri: str) -> str:
    """The API root of a server URL (``https://host`` or ``https://host/api/v1``)."""
    uri = uri.rstrip("/")
    return uri if uri.endswith("/api/v1") else uri + "/api/v1"


def default_queue_dir(uri: str) -> Path:
    """The blob queue sits beside the event spool of the same server."""
    from ..stores.remote.spool import default_spool_dir

    return default_spool_dir(uri) / "blobs"


class HttpBlobStore:
    """Blob protocol and push/pull transfers over the server's ``/blobs`` endpoints (see the module doc)."""

    def __init__(self, uri: str, *, token: str | None = None, queue_dir: str | Path | None = None,
                 timeout: float = 60.0) -> None:
        try:
            import httpx
        except ImportError:  # pragma: no cover - the extra is missing
            raise ConfigError(
                "talking to an mlineage server needs httpx: pip install 'mlineage[server]'"
            ) from None
        self.uri = uri.rstrip("/")
        self.base = api_base(self.uri)
        token = token if token is not None else os.environ.get("MLINEAGE_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._httpx = httpx
        self._http = httpx.Client(base_url=self.base, headers=headers, timeout=timeout)
        self.queue = BlobQueue(Path(queue_dir) if queue_dir else default_queue_dir(self.uri))
        self.sessions = self.queue.folder / "sessions"

    # ------------------------------------------------------------ HTTP

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except self._httpx.TransportError as exc:
            raise StoreUnavailableError(f"mlineage server {self.uri} is unreachable: {exc}") from None
        if response.status_code >= 400 and not (method == "HEAD" and response.status_code == 404):
            raise _error(response, self.uri)
        return response

    # ------------------------------------------------------------ the BlobStore protocol

    def has(self, digest: Digest) -> bool:
        """Whether the server has the blob; while it is unreachable, whether it is queued for it."""
        try:
            return bool(self._send("HEAD", f"/blobs/{digest}").status_code == 200)
        except StoreUnavailableError:
            return self.queue.has(digest)

    def put_file(self, path: Path) -> tuple[Digest, int]:
        digest, size = hash_file(path)
        try:
            self.upload(Path(path), digest)
        except StoreUnavailableError:
            queued, _ = self.queue.add_file(Path(path))
            if queued != digest:
                self.queue.objects.remove(queued)
                raise ValidationError("path", f"{path} changed while it was being recorded",
                                      "record it again") from None
        else:
            self.drain()
        return digest, size

    def put_bytes(self, data: bytes) -> Digest:
        digest = hash_bytes(data)
        try:
            if not self._server_has(digest):
                self._put_whole(digest, data)
        except StoreUnavailableError:
            self.queue.add_bytes(data)
        else:
            self.drain()
        return digest

    def open(self, digest: Digest) -> BinaryIO:
        """A verified copy of the blob (spooled to disk past 64 MiB); a queued blob is read locally."""
        if self.queue.has(digest):
            return self.queue.open(digest)
        spool = tempfile.SpooledTemporaryFile(max_size=64 << 20)  # noqa: SIM115 - returned open to the caller
        try:
            self._download_into(digest, spool.write)
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return spool  # type: ignore[return-value]

    def close(self) -> None:
        try:
            self.drain()
        finally:
            self._http.close()

    # ------------------------------------------------------------ the queue

    def drain(self) -> tuple[int, int]:
        """Ship queued blobs now; returns (shipped, still pending). Never raises for an unreachable server."""
        if not self.queue.objects.root.is_dir():
            return 0, 0
        return self.queue.drain(self.upload)

    # ------------------------------------------------------------ transfers (push / pull / get)

    def check(self) -> None:
        """Fail early with a clear message when the server cannot be reached or the token is refused."""
        self._send("GET", "/whoami")

    def missing(self, digests: Sequence[Digest]) -> list[Digest]:
        """Which of these blobs the server lacks (one request per thousand digests)."""
        out: list[Digest] = []
        for start in range(0, len(digests), 1000):
            part = [str(d) for d in digests[start : start + 1000]]
            body = self._send("POST", "/blobs/missing", json={"digests": part}).json()
            out.extend(Digest.parse(d) for d in body["missing"])
        return out

    def upload(self, path: Path, digest: Digest, on_bytes: Callable[[int], object] | None = None) -> None:
        """Send a file the caller knows hashes to ``digest``, unless the server has it already."""
        if self._server_has(digest):
            return
        size = os.path.getsize(path)
        if size <= SINGLE_PUT:
            self._put_whole(digest, Path(path).read_bytes())
        else:
            self._upload_session(Path(path), digest, size, on_bytes)
            return
        if on_bytes is not None:
            on_bytes(size)

    def download_to(
        self, digest: Digest, target: Path, on_bytes: Callable[[int], object] | None = None
    ) -> None:
        """Download, re-hash, and only then rename into ``target`` (read-only, like every cache object)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".mlineage-tmp-")
        with removed_on_failure(temp):
            with os.fdopen(fd, "wb") as out:
                def write(chunk: bytes) -> None:
                    out.write(chunk)
                    if on_bytes is not None:
                        on_bytes(len(chunk))

                self._download_into(digest, write)
            publish(temp, target, 0o444)

    # ------------------------------------------------------------ internals

    def _server_has(self, digest: Digest) -> bool:
        return bool(self._send("HEAD", f"/blobs/{digest}").status_code == 200)

    def _put_whole(self, digest: Digest, data: bytes) -> None:
        self._send("PUT", f"/blobs/{digest}", content=data,
                   headers={"Content-Type": "application/octet-stream"})

    def _download_into(self, digest: Digest, write: Callable[[bytes], object]) -> None:
        h = hashlib.sha256()
        try:
            with self._http.stream("GET", f"/blobs/{digest}") as response:
                if response.status_code >= 400:
                    response.read()
                    raise _error(response, self.uri)
                for chunk in response.iter_bytes(BUFFER_SIZE):
                    h.update(chunk)
                    write(chunk)
        except self._httpx.TransportError as exc:
            raise StoreUnavailableError(f"mlineage server {self.uri} is unreachable: {exc}") from None
        if h.hexdigest() != digest.hex:
            raise IntegrityError(
                f"blob {digest} from {self.uri} is corrupted: it hashes to sha256:{h.hexdigest()}; "
                "it was not used"
            )

    def _upload_session(self, path: Path, digest: Digest, size: int,
                        on_bytes: Callable[[int], object] | None) -> None:
        """Chunked, resumable upload: the session id is kept on disk until the server has the blob."""
        session_file = self.sessions / digest.hex
        upload_id, offset = self._resume(session_file)
        if upload_id is None:
            body = self._send("POST", "/blobs/uploads", json={"digest": str(digest), "size": size}).json()
            if body.get("exists"):
                return
            upload_id, offset = str(body["upload_id"]), int(body["offset"])
            self.sessions.mkdir(parents=True, exist_ok=True)
            session_file.write_text(json.dumps({"upload_id": upload_id}))
        with open(path, "rb") as handle:
            failures = 0
            while offset < size:
                handle.seek(offset)
                chunk = handle.read(CHUNK)
                try:
                    offset = int(
                        self._send(
                            "PATCH",
                            f"/blobs/uploads/{upload_id}",
                            content=chunk,
                            headers={
                                "Upload-Offset": str(offset),
                                "Content-Type": "application/octet-stream",
                            },
                        ).json()["offset"]
                    )
                except StoreUnavailableError:
                    failures += 1
                    if failures >= RETRIES:
                        raise
                    offset = self._offset_of(upload_id)  # resume where the server says it is
                    continue
                if on_bytes is not None:
                    on_bytes(len(chunk))
        self._send("POST", f"/blobs/uploads/{upload_id}/complete")
        session_file.unlink(missing_ok=True)

    def _resume(self, session_file: Path) -> tuple[str | None, int]:
        try:
            upload_id = str(json.loads(session_file.read_text())["upload_id"])
        except (FileNotFoundError, ValueError, KeyError):
            return None, 0
        try:
            return upload_id, self._offset_of(upload_id)
        except NotFoundError:  # expired or finished on the server: start again
            session_file.unlink(missing_ok=True)
            return None, 0

    def _offset_of(self, upload_id: str) -> int:
        return int(self._send("GET", f"/blobs/uploads/{upload_id}").json()["offset"])


def _error(response: Any, uri: str) -> MlineageError:
    """The server's JSON error as the matching exception (a 5xx, 408 or 429 means: try again later)."""
    try:
        body = response.json().get("error") or {}
    except ValueError:
        body = {}
    message = body.get("message") or f"HTTP {response.status_code} from {uri}"
    status = response.status_code
    if status >= 500 or status in (408, 429):
        return StoreUnavailableError(f"mlineage server {uri} answered {status}: {message}")
    if status == 404:
        return NotFoundError(message)
    if status in (401, 403):
        return ConfigError(
            f"mlineage server {uri} refused the token ({status}): {message}; check MLINEAGE_TOKEN"
        )
    return ValidationError(str(body.get("field") or "blob"), message)
