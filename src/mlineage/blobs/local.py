"""A local content-addressed folder: ``objects/ab/cdef...``.

Objects appear under their digest name only once complete (temp file in the same folder + ``os.replace``),
so a crash can leave a stray temp file but never a half-written object. Paths come from digests only.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from ..errors import IntegrityError, NotFoundError
from ..hashing import hash_bytes, hash_file
from ..model import Digest


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.uri = self.root.as_uri()

    def path_for(self, digest: Digest) -> Path:
        return self.root / digest.algorithm / digest.hex[:2] / digest.hex[2:]

    def has(self, digest: Digest) -> bool:
        return self.path_for(digest).is_file()

    def _stage(self) -> tuple[int, str]:
        staging = self.root / "tmp"
        staging.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(dir=staging, prefix="incoming-")

    def _commit(self, temp: str, digest: Digest) -> None:
        target = self.path_for(digest)
        if target.exists():
            os.unlink(temp)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(temp, 0o444)  # cache objects are immutable; this also protects hardlinked checkouts
        os.replace(temp, target)

    def put_file(self, path: Path) -> tuple[Digest, int]:
        """Copy a file in while hashing it: one read of the source."""
        fd, temp = self._stage()
        try:
            with os.fdopen(fd, "wb") as out:
                digest, size = hash_file(path, on_chunk=out.write)
                out.flush()
                os.fsync(out.fileno())
            self._commit(temp, digest)
        except BaseException:
            if os.path.exists(temp):
                os.unlink(temp)
            raise
        return digest, size

    def put_bytes(self, data: bytes) -> Digest:
        digest = hash_bytes(data)
        if self.has(digest):
            return digest
        fd, temp = self._stage()
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            self._commit(temp, digest)
        except BaseException:
            if os.path.exists(temp):
                os.unlink(temp)
            raise
        return digest

    def open(self, digest: Digest) -> BinaryIO:
        path = self.path_for(digest)
        if not path.is_file():
            raise NotFoundError(f"blob {digest} is not in the artifact store at {self.root}")
        return path.open("rb")

    def verify_blob(self, digest: Digest) -> None:
        actual, _ = hash_file(self.path_for(digest))
        if actual != digest:
            raise IntegrityError(f"blob {digest} is corrupted: its content hashes to {actual}")
