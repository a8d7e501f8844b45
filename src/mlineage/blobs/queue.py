"""Blobs recorded while the team server was unreachable, kept on disk until the server has them.

The blob counterpart of the event spool: a run keeps working during an outage, its outputs land in a local
content-addressed folder, and the next upload, ``mlineage sync`` or the client's ``close`` drains it. Objects
leave the queue only after the server acknowledged them; they drain in the order they were queued, so a
directory manifest (queued after the files it lists) reaches the server after its files.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ..errors import StoreUnavailableError
from ..model import Digest
from .local import LocalBlobStore


class BlobQueue:
    """A local folder of blobs waiting for upload (multi-process safe: draining holds a file lock)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.objects = LocalBlobStore(self.folder / "objects")

    def add_file(self, path: Path) -> tuple[Digest, int]:
        return self.objects.put_file(path)

    def add_bytes(self, data: bytes) -> Digest:
        return self.objects.put_bytes(data)

    def has(self, digest: Digest) -> bool:
        return self.objects.has(digest)

    def open(self, digest: Digest) -> BinaryIO:
        return self.objects.open(digest)

    def pending(self) -> list[Digest]:
        """Queued digests, oldest first."""
        found = list(self.objects.iter_digests())

        def queued_at(d: Digest) -> int:
            try:
                return os.stat(self.objects.path_for(d)).st_mtime_ns
            except FileNotFoundError:
                return 0

        return sorted(found, key=queued_at)

    def drain(self, upload: Callable[[Path, Digest], None]) -> tuple[int, int]:
        """Upload queued blobs in order until one fails to reach the server; returns (shipped, pending).

        Another process draining the same queue makes this a no-op (it reports what is pending)."""
        shipped = 0
        with self._lock() as held:
            if held:
                for digest in self.pending():
                    try:
                        upload(self.objects.path_for(digest), digest)
                    except StoreUnavailableError:
                        break
                    self.objects.remove(digest)
                    shipped += 1
        return shipped, len(self.pending())

    def _lock(self) -> contextlib.AbstractContextManager[bool]:
        """The drain lock, not waited for: another process already draining is enough."""
        from ..stores.remote.spool import flock

        self.folder.mkdir(parents=True, exist_ok=True)
        return flock(self.folder / "drain.lock", blocking=False)
