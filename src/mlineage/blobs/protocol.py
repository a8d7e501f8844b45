"""The narrow interface of a content-addressed blob store."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from ..model import Digest


@runtime_checkable
class BlobStore(Protocol):
    uri: str

    def has(self, digest: Digest) -> bool: ...
    def put_file(self, path: Path) -> tuple[Digest, int]: ...
    def put_bytes(self, data: bytes) -> Digest: ...
    def open(self, digest: Digest) -> BinaryIO: ...
    def close(self) -> None:
        """Release connections; a store that queues uploads ships what it can first."""
