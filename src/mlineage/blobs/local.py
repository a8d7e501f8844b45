"""A local content-addressed folder: ``objects/ab/cdef...``.

Objects appear under their digest name only once complete (temp file in the same folder + ``os.replace``),
so a crash can leave a stray temp file but never a half-written object. Paths come from digests only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..errors import IntegrityError, NotFoundError, ValidationError
from ..hashing import hash_bytes, hash_file
from ..model import Digest
from .placement import (
    _UNSUPPORTED,
    create_temp,
    ensure_dir,
    link_or_copy,
    publish,
    removed_on_failure,
    unique_name,
)

if TYPE_CHECKING:
    from .statcache import FileStat

SMALL_FILE = 8 << 20  # files up to this size are read whole: hash first, write only when new


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.uri = self.root.as_uri()
        self._root_text = str(self.root)
        self._no_direct_link: set[int] = set()

    def path_for(self, digest: Digest) -> Path:
        return self.root / digest.algorithm / digest.hex[:2] / digest.hex[2:]

    def has(self, digest: Digest) -> bool:
        return self.path_for(digest).is_file()

    def _stage(self) -> tuple[int, str]:
        staging = self.root / "tmp"
        staging.mkdir(parents=True, exist_ok=True)
        return create_temp(staging, "incoming-")

    def _commit(self, temp: str, digest: Digest) -> None:
        target = self.path_for(digest)
        if target.exists():
            os.unlink(temp)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(temp, 0o444)  # cache objects are immutable; this also protects hardlinked checkouts
        os.replace(temp, target)

    def put_file(self, path: Path) -> tuple[Digest, int]:
        """Store a file and return (digest, size), reading the source once.

        Small files are hashed first so that content already stored costs no write at all; larger ones are
        copied in while hashed. Like the data commands (``store_file``) this does not fsync: the rename makes
        objects atomic against a crashed process, and ``fsck``/checkout re-hash, so damage from a power loss
        is detected rather than served.
        """
        if os.path.getsize(path) <= SMALL_FILE:
            with open(path, "rb") as handle:
                data = handle.read()
            return self.put_bytes(data), len(data)
        fd, temp = self._stage()
        with removed_on_failure(temp):
            with os.fdopen(fd, "wb") as out:
                digest, size = hash_file(path, on_chunk=out.write)
            self._commit(temp, digest)
        return digest, size

    def put_bytes(self, data: bytes) -> Digest:
        digest = hash_bytes(data)
        if self.has(digest):
            return digest
        fd, temp = self._stage()
        with removed_on_failure(temp):
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            self._commit(temp, digest)
        return digest

    def present(self, digests: Sequence[Digest]) -> set[Digest]:
        """Which of these objects the store has: one listing per fan-out folder for many, a stat each for
        few."""
        if len(digests) < 512:
            return {d for d in digests if self.has(d)}
        have = self.present_hex([d.hex for d in digests if d.algorithm == "sha256"])
        return {d for d in digests if d.hex in have}

    def missing(self, digests: Sequence[Digest]) -> list[Digest]:
        """Which of these objects the store lacks (what a push to this store must send)."""
        have = self.present(digests)
        return [d for d in digests if d not in have]

    def present_hex(self, hexes: Sequence[str]) -> set[str]:
        """``present`` for SHA-256 digests given as hex text (a 10,000-file manifest needs no Digest
        objects)."""
        base = f"{self._root_text}/sha256"
        if len(hexes) < 512:
            return {h for h in hexes if os.path.isfile(f"{base}/{h[:2]}/{h[2:]}")}
        wanted: dict[str, list[str]] = {}
        for h in hexes:
            wanted.setdefault(h[:2], []).append(h)
        found: set[str] = set()
        for fan, group in wanted.items():
            try:
                names = set(os.listdir(f"{base}/{fan}"))
            except (FileNotFoundError, NotADirectoryError):
                continue
            found.update(h for h in group if h[2:] in names)
        return found

    def store_file(self, path: Path, digest: Digest, modes: Sequence[str], before: os.stat_result | FileStat,
                   known_absent: bool = False) -> str:
        """Store a file whose digest is already known (hashed, or found in the stat cache).

        The bytes go in by the first of ``modes`` that works (a hardlink costs no copy), under a temp name;
        the source's stat is checked again before the rename, so a file changed since it was hashed is refused
        rather than stored under the wrong name. Returns the mode used, or "present".
        """
        hexd = digest.hex
        folder = f"{self._root_text}/{digest.algorithm}/{hexd[:2]}"
        target = f"{folder}/{hexd[2:]}"
        if not known_absent and os.path.isfile(target):
            return "present"
        if self._direct_link(modes, before.st_dev):
            # A hardlink is never half-written, so it can take the digest name at once (link(2) is atomic and
            # fails if the name exists): three system calls instead of five, which matters for 10,000 files.
            ensure_dir(folder)
            try:
                os.link(path, target)
            except FileExistsError:
                return "present"
            except OSError:
                self._no_direct_link.add(before.st_dev)
            else:
                try:
                    after = os.stat(target)
                    if (after.st_ino, after.st_size, after.st_mtime_ns) != (before.st_ino, before.st_size,
                                                                             before.st_mtime_ns):
                        raise ValidationError("path", f"{path} changed while it was being added",
                                              "run the command again")
                    os.chmod(target, 0o555 if before.st_mode & 0o111 else 0o444)
                except BaseException:
                    os.unlink(target)
                    raise
                return "hardlink"
        staging = f"{self._root_text}/tmp"
        ensure_dir(staging)
        temp = f"{staging}/{unique_name('incoming-')}"
        with removed_on_failure(temp):
            used = link_or_copy(path, temp, [m for m in modes if m != "symlink"] or ["copy"],  # type: ignore[arg-type]
                                before.st_dev)
            after = os.stat(path)
            if (after.st_ino, after.st_size, after.st_mtime_ns) != (before.st_ino, before.st_size,
                                                                     before.st_mtime_ns):
                raise ValidationError(
                    "path", f"{path} changed while it was being added", "run the command again"
                )
            ensure_dir(folder)
            publish(temp, target, 0o555 if before.st_mode & 0o111 else 0o444)
        return used

    def _direct_link(self, modes: Sequence[str], src_dev: int) -> bool:
        """Whether hardlink is the first mode that can work here (reflink known to fail, or not wanted)."""
        if src_dev in self._no_direct_link:
            return False
        for mode in modes:
            if mode == "hardlink":
                return True
            if mode == "reflink" and ("reflink", src_dev, "") in _UNSUPPORTED:
                continue
            return False
        return False

    def iter_digests(self) -> Iterator[Digest]:
        """Every object in the store (names that are not digests are skipped, never trusted)."""
        base = self.root / "sha256"
        if not base.is_dir():
            return
        for fan in sorted(os.scandir(base), key=lambda e: e.name):
            if len(fan.name) != 2 or not fan.is_dir():
                continue
            for entry in os.scandir(fan.path):
                try:
                    yield Digest.sha256(fan.name + entry.name)
                except ValidationError:
                    continue

    def upload(self, path: Path, digest: Digest, on_bytes: Callable[[int], object] | None = None) -> None:
        """Copy a file in under a digest it is known to have (used when this store is a push remote)."""
        if self.has(digest):
            return
        staging = self.root / "tmp"
        staging.mkdir(parents=True, exist_ok=True)
        fd, temp = create_temp(staging, "incoming-")
        os.close(fd)
        with removed_on_failure(temp):
            import shutil

            shutil.copyfile(path, temp)
            self._commit(temp, digest)
            if on_bytes is not None:
                on_bytes(os.path.getsize(path))

    def download_to(self, digest: Digest, target: Path, on_bytes: object = None) -> None:
        """Copy an object out to ``target`` while re-hashing it; a corrupted object is never placed."""
        source = self.path_for(digest)
        if not source.is_file():
            raise NotFoundError(f"blob {digest} is not in the store at {self.root}")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = create_temp(target.parent)
        with removed_on_failure(temp):
            with os.fdopen(fd, "wb") as out:
                actual, _ = hash_file(source, on_chunk=out.write)
            if actual != digest:
                raise IntegrityError(f"blob {digest} in {self.root} is corrupted: it hashes to {actual}; "
                                     "it was not placed")
            publish(temp, target, 0o444)

    def check(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            from ..errors import StoreUnavailableError

            raise StoreUnavailableError(f"remote {self.root} is not a folder")

    def remove(self, digest: Digest) -> None:
        path = self.path_for(digest)
        if path.exists():
            path.unlink()

    def remove_stale_temps(self, older_than_s: float = 3600.0) -> list[Path]:
        """Temp files left by a crash (never under a digest name): remove those older than the threshold."""
        staging = self.root / "tmp"
        removed = []
        if staging.is_dir():
            cutoff = time.time() - older_than_s
            for entry in os.scandir(staging):
                if entry.name.startswith("incoming-") and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
        return removed

    def close(self) -> None:
        """Nothing to release: the folder holds no connection."""

    def open(self, digest: Digest) -> BinaryIO:
        path = self.path_for(digest)
        if not path.is_file():
            raise NotFoundError(f"blob {digest} is not in the artifact store at {self.root}")
        return path.open("rb")
