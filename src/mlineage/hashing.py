"""Streaming SHA-256 of files, and directory manifests whose digest names the directory (pure but for reads)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .ledger import canonical_json
from .model import Digest

BUFFER_SIZE = 1 << 20  # 1 MiB: large enough that hashlib (which releases the GIL) dominates the loop


def hash_bytes(data: bytes) -> Digest:
    return Digest.sha256(hashlib.sha256(data).hexdigest())


def hash_file(path: str | os.PathLike[str], on_chunk: Callable[[bytes], None] | None = None) -> tuple[Digest, int]:
    """Digest and size of a file, read once. ``on_chunk`` sees every chunk (e.g. to copy while hashing)."""
    h = hashlib.sha256()
    size = 0
    buffer = bytearray(BUFFER_SIZE)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while n := handle.readinto(buffer):
            chunk = view[:n]
            h.update(chunk)
            if on_chunk is not None:
                on_chunk(bytes(chunk))
            size += n
    return Digest.sha256(h.hexdigest()), size


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    path: str  # POSIX-style, relative to the directory
    digest: Digest
    size: int
    mode: int


def manifest_digest(entries: list[ManifestEntry]) -> Digest:
    """A directory is named by the digest of its sorted manifest, so equal trees get equal names."""
    document = [
        {"path": e.path, "digest": str(e.digest), "size": e.size, "mode": e.mode}
        for e in sorted(entries, key=lambda e: e.path)
    ]
    return hash_bytes(canonical_json(document))


def directory_manifest(root: Path) -> list[ManifestEntry]:
    entries = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            full = Path(dirpath, filename)
            if full.is_symlink() or not full.is_file():
                continue
            digest, size = hash_file(full)
            entries.append(
                ManifestEntry(full.relative_to(root).as_posix(), digest, size, full.stat().st_mode & 0o777)
            )
    return entries
