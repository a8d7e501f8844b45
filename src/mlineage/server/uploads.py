"""Upload sessions: a large blob arrives in chunks, each appended at the offset the client states.

A session is a staging file plus a small JSON record (digest, declared size) in the server's uploads folder;
any server process on the machine can continue it. ``complete`` re-hashes the staged bytes and stores them in
the artifact store only when they match the digest, so a client can never place bytes under a wrong name.
Sessions idle for a day are removed when a new one starts.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import MlineageError, NotFoundError, ValidationError
from ..hashing import BUFFER_SIZE
from ..model import Digest

STALE_AFTER_S = 24 * 3600


class OffsetMismatch(MlineageError):
    """A chunk sent for an offset other than the session's current one (HTTP 409; the body says where)."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        super().__init__(f"the upload is at byte {expected}: resume from there")


@dataclass(frozen=True)
class Session:
    upload_id: str
    digest: Digest
    size: int
    offset: int


class UploadSessions:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _paths(self, upload_id: str) -> tuple[Path, Path]:
        if len(upload_id) != 32 or not all(c in "0123456789abcdef" for c in upload_id):
            raise NotFoundError(f"no upload session {upload_id!r}: start one with POST /blobs/uploads")
        return self.folder / f"{upload_id}.json", self.folder / f"{upload_id}.part"

    def start(self, digest: Digest, size: int) -> Session:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._remove_stale()
        upload_id = secrets.token_hex(16)
        record, part = self._paths(upload_id)
        part.touch()
        temp = record.with_suffix(".tmp")
        temp.write_text(json.dumps({"digest": str(digest), "size": size}))
        os.replace(temp, record)
        return Session(upload_id, digest, size, 0)

    def get(self, upload_id: str) -> Session:
        record, part = self._paths(upload_id)
        try:
            meta = json.loads(record.read_text())
            offset = part.stat().st_size
        except FileNotFoundError:
            raise NotFoundError(
                f"no upload session {upload_id!r}: start one with POST /blobs/uploads"
            ) from None
        return Session(upload_id, Digest.parse(meta["digest"]), int(meta["size"]), offset)

    def append(self, upload_id: str, offset: int, chunks: Iterable[bytes]) -> int:
        """Append a chunk at ``offset`` (which must be the current end); returns the new offset."""
        session = self.get(upload_id)
        if offset != session.offset:
            raise OffsetMismatch(session.offset)
        _, part = self._paths(upload_id)
        with open(part, "r+b") as out:
            out.seek(offset)
            for chunk in chunks:
                out.write(chunk)
                if out.tell() > session.size:
                    out.truncate(offset)
                    raise ValidationError("body", f"more than the declared {session.size} bytes",
                                          "declare the blob's real size when starting the upload")
            out.flush()
            os.fsync(out.fileno())
            return out.tell()

    def verified_part(self, upload_id: str) -> tuple[Session, Path]:
        """The staged file, once it holds exactly the declared bytes and hashes to the digest."""
        session = self.get(upload_id)
        _, part = self._paths(upload_id)
        if session.offset != session.size:
            raise ValidationError("upload", f"{session.offset} of {session.size} bytes received",
                                  f"send the rest from byte {session.offset}")
        h = hashlib.sha256()
        with open(part, "rb") as handle:
            while chunk := handle.read(BUFFER_SIZE):
                h.update(chunk)
        if h.hexdigest() != session.digest.hex:
            self.discard(upload_id)
            raise ValidationError("digest", f"the uploaded bytes hash to sha256:{h.hexdigest()}, "
                                  f"not {session.digest}", "upload the bytes that match the digest")
        return session, part

    def discard(self, upload_id: str) -> None:
        for path in self._paths(upload_id):
            path.unlink(missing_ok=True)

    def _remove_stale(self) -> None:
        cutoff = time.time() - STALE_AFTER_S
        for entry in os.scandir(self.folder):
            if entry.name.endswith((".part", ".json")) and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
