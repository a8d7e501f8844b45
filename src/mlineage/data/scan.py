"""Scanning tracked paths: the walk of a folder and the digest of every file, reusing the stat cache.

A ``Scanner`` knows the cache and the stat cache and nothing of pointers or the ledger: ``status``, ``add``
and ``checkout`` all ask it what a path holds now, and it reads cache objects only after checking their bytes.
"""

from __future__ import annotations

import contextlib
import os
import stat as stat_mod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..blobs.local import LocalBlobStore
from ..blobs.statcache import StatCache, StatKey, Tree, TreeRecord, walk_stats, walk_tree
from ..blobs.walk import STAT_FIELDS, UnsupportedEntry, user_error
from ..errors import IntegrityError, NotFoundError, ValidationError
from ..hashing import (
    ManifestEntry,
    hash_bytes,
    hash_file,
    hash_many,
    manifest_rows,
    parse_manifest,
    patched_manifest_bytes,
    sorted_manifest_bytes,
)
from ..model import Digest
from .progress import Meter

if TYPE_CHECKING:
    from ..background import Background
    from ..blobs.walk import ChildWalk, Rows


@dataclass
class Scan:
    """A tracked path as it is on disk now.

    A directory is kept as columns (its Tree and one 32-byte digest per file), not 10,000 entry objects: most
    scans only need the manifest's digest, which the stat cache often knows without building the manifest.
    """

    path: Path
    kind: str  # "file" or "directory"
    digest: Digest
    size: int
    files: int | None = None
    stat: os.stat_result | None = None  # files only
    tree: Tree | None = None  # directories: paths and stat numbers in manifest order
    digests: bytes = b""  # directories: 32 raw SHA-256 bytes per file, in the tree's order
    previous: TreeRecord | None = None  # directories: what the stat cache knew before this scan
    fresh: list[int] | None = None  # directories: files whose digest did not come from ``previous``
    _manifest: bytes | None = None
    _hexes: list[str] | None = None

    def hexes(self) -> list[str]:
        if self._hexes is None:
            text = self.digests.hex()
            self._hexes = [text[i : i + 64] for i in range(0, len(text), 64)]
        return self._hexes

    def modes(self) -> list[int]:
        assert self.tree is not None
        return [0o755 if x else 0o644 for x in self.tree.stats[4::STAT_FIELDS]]

    @property
    def entries(self) -> list[ManifestEntry] | None:
        """The manifest as entry objects (directories only; built on demand)."""
        if self.tree is None:
            return None
        return [ManifestEntry(p, Digest.sha256(h), size, mode)
                for p, h, size, mode in zip(self.tree.names, self.hexes(), self.tree.sizes(), self.modes())]

    @property
    def manifest(self) -> bytes:
        """The directory's manifest bytes (built on demand; their digest is ``digest``)."""
        if self._manifest is None:
            assert self.tree is not None
            self._manifest = sorted_manifest_bytes(self.tree.names, self.hexes(), self.tree.sizes().tolist(),
                                                   self.modes())
        return self._manifest



def walk_files(root: Path) -> list[tuple[str, str, os.stat_result]]:
    """Every regular file under root as (relative posix path, absolute path, lstat); symlinks refused."""
    with _walk_errors():
        return walk_stats(str(root))


def walk_dir(root: Path, started: ChildWalk | Background[Rows] | None = None) -> Tree:
    """Every regular file under root with its stat numbers, in manifest order; symlinks refused.
    ``started``: the same walk already running in the background (its result, or error, is used)."""
    with _walk_errors():
        return walk_tree(str(root)) if started is None else Tree(*started.result())


@contextlib.contextmanager
def _walk_errors() -> Iterator[None]:
    """A walk's errors as the user's: a symlink or special file, an unreadable folder."""
    try:
        yield
    except (UnsupportedEntry, PermissionError) as exc:
        raise user_error(exc) from None


def unreadable(exc: PermissionError) -> ValidationError:
    error = user_error(exc)
    assert isinstance(error, ValidationError)
    return error


class Scanner:
    """Digests of what is on disk now, and verified reads of cache objects."""

    def __init__(self, cache: LocalBlobStore, statcache: StatCache, jobs: int) -> None:
        self.cache = cache
        self.statcache = statcache
        self.jobs = jobs

    def digests_of(
        self, files: Sequence[tuple[str, os.stat_result]], meter: Meter | None = None
    ) -> list[Digest]:
        """Digests of files, from the stat cache where (dev, inode, size, mtime) still match, else hashed."""
        keys = [StatKey.of(st) for _, st in files]
        known = self.statcache.get_many(keys)
        todo = [i for i, d in enumerate(known) if d is None]
        out: list[Digest | None] = [Digest.parse(d) if d else None for d in known]
        if todo:
            hashed = self._hash([files[i][0] for i in todo], [files[i][1].st_size for i in todo], meter)
            for i, digest in zip(todo, hashed):
                out[i] = digest
            self.statcache.put_many((keys[i], str(out[i])) for i in todo)
        return [d for d in out if d is not None]

    def _file_digest(self, path: Path, st: os.stat_result, meter: Meter | None,
                     on_chunk: Callable[[bytes], object]) -> Digest:
        """One file's digest, from the stat cache or else hashed with ``on_chunk`` seeing its bytes."""
        key = StatKey.of(st)
        (known,) = self.statcache.get_many([key])
        if known is not None:
            if meter is not None:
                meter.advance(st.st_size, 1)
            return Digest.parse(known)
        try:
            digest, size = hash_file(path, on_chunk)
        except PermissionError as exc:
            raise unreadable(exc) from None
        if meter is not None:
            meter.advance(size, 1)
        self.statcache.put_many([(key, str(digest))])
        return digest

    def _hash(self, paths: list[str], sizes: list[int], meter: Meter | None) -> list[Digest]:
        def done(_: int, size: int) -> None:
            if meter is not None:
                meter.advance(size, 1)

        try:
            return [d for d, _size in hash_many(paths, sizes, self.jobs, done)]
        except PermissionError as exc:
            raise unreadable(exc) from None
        except FileNotFoundError as exc:
            raise ValidationError("path", f"{exc.filename} disappeared while it was being read",
                                  "run the command again") from None

    def scan(self, path: Path, meter: Meter | None = None, *, tree: Tree | None = None,
             remember: bool = True, on_chunk: Callable[[bytes], object] | None = None) -> Scan:
        """Hash a file or directory as it is now (cached digests reused).

        ``tree``: the directory's walk, if the caller has it. ``remember``: save a changed directory's record
        in the stat cache now (``add`` saves it after storing the objects, marked as stored). ``on_chunk``
        (a file): sees every chunk of the file as it is hashed (not called when the stat cache knows it).
        """
        st = os.lstat(path)
        if stat_mod.S_ISREG(st.st_mode):
            if meter is not None:
                meter.add_total(st.st_size, 1)
            if on_chunk is not None:
                return Scan(path, "file", self._file_digest(path, st, meter, on_chunk), st.st_size, stat=st)
            (digest,) = self.digests_of([(str(path), st)], meter)
            return Scan(path, "file", digest, st.st_size, stat=st)
        if not stat_mod.S_ISDIR(st.st_mode):
            raise ValidationError("path", f"{path} is not a regular file or directory")
        tree = tree or walk_dir(path)
        key = str(path)
        files = len(tree.names)
        size = sum(tree.sizes())
        if meter is not None:
            meter.add_total(size, files)
        before = self.statcache.get_tree(key)
        if before is not None and before.tree.same_as(tree):  # nothing changed since the last scan
            if meter is not None:
                meter.advance(size, files)
            return Scan(path, "directory", Digest.parse(before.digest), size, files, tree=tree,
                        digests=before.digests, previous=before, fresh=[])
        digests, fresh = self._tree_digests(key, tree, before, meter)
        scan = Scan(path, "directory", Digest.sha256("0" * 64), size, files, tree=tree, digests=digests,
                    previous=before, fresh=fresh)
        if before is not None and before.tree.names == tree.names and len(fresh) * 8 < files:
            scan._manifest = self._patched_manifest(scan, before, fresh)
        scan.digest = hash_bytes(scan.manifest)
        if remember:
            self.statcache.put_tree(key, TreeRecord(tree, scan.digests, str(scan.digest), size))
        return scan

    def _patched_manifest(self, scan: Scan, before: TreeRecord, fresh: list[int]) -> bytes | None:
        """The new manifest as the previous one (from the cache, verified) with the changed files' rows
        replaced: the same paths in the same order, and every other row's digest, size and mode unchanged."""
        try:
            with open(self.cache.path_for(Digest.parse(before.digest)), "rb") as handle:
                old = handle.read()
        except (OSError, ValidationError):
            return None
        if hash_bytes(old) != Digest.parse(before.digest):
            return None
        assert scan.tree is not None
        names, stats, k, raw = scan.tree.names, scan.tree.stats, STAT_FIELDS, scan.digests
        rows = manifest_rows(
            [names[i] for i in fresh],
            [raw[32 * i : 32 * i + 32].hex() for i in fresh],
            [stats[k * i + 2] for i in fresh],
            [0o755 if stats[k * i + 4] else 0o644 for i in fresh],
        )
        return patched_manifest_bytes(old, len(names), dict(zip(fresh, rows)))

    def _tree_digests(self, base: str, tree: Tree, before: TreeRecord | None, meter: Meter | None
                      ) -> tuple[bytes, list[int]]:
        """One 32-byte digest per file of a tree: reused from the last scan where a file's stat numbers are
        the same, else from the stat cache, else hashed. Also returns the indices of the files not reused."""
        n, k = len(tree.names), STAT_FIELDS
        now = tree.stats
        if before is None:
            out = bytearray(32 * n)
            todo = list(range(n))
        else:
            old, old_digests = before.tree.stats, before.digests
            rows_now = zip(*[iter(now)] * k)  # one tuple of stat numbers per file, built in C
            if before.tree.names == tree.names:  # the usual case: the same files, a few of them changed
                out = bytearray(old_digests)
                todo = [i for i, (a, b) in enumerate(zip(rows_now, zip(*[iter(old)] * k))) if a != b]
            else:
                out = bytearray(32 * n)
                todo = []
                old_rows = dict(
                    zip(before.tree.names, zip(zip(*[iter(old)] * k), range(len(before.tree.names))))
                )
                for i, (name, row) in enumerate(zip(tree.names, rows_now)):
                    hit = old_rows.get(name)
                    if hit is not None and hit[0] == row:
                        out[32 * i : 32 * i + 32] = old_digests[32 * hit[1] : 32 * hit[1] + 32]
                    else:
                        todo.append(i)
        if meter is not None:
            meter.advance(sum(tree.sizes()) - sum(now[i * k + 2] for i in todo), n - len(todo))
        if todo:
            keys = [StatKey(*now[i * k : i * k + 4]) for i in todo]
            hash_now = []
            for i, known in zip(todo, self.statcache.get_many(keys)):
                if known is not None and known.startswith("sha256:"):
                    out[32 * i : 32 * i + 32] = bytes.fromhex(known[7:])
                else:
                    hash_now.append(i)
            if hash_now:
                hashed = self._hash([f"{base}/{tree.names[i]}" for i in hash_now],
                                    [now[i * k + 2] for i in hash_now], meter)
                for i, digest in zip(hash_now, hashed):
                    out[32 * i : 32 * i + 32] = bytes.fromhex(digest.hex)
                self.statcache.put_many((StatKey(*now[i * k : i * k + 4]), str(digest))
                                        for i, digest in zip(hash_now, hashed))
        return bytes(out), todo

    def verify_object(self, digest: Digest) -> Path:
        """The cache path of an object whose bytes hash to its name (stat cache first, else re-hashed)."""
        path = self.cache.path_for(digest)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise NotFoundError(f"{digest} is not in the cache") from None
        key = StatKey.of(st)
        if self.statcache.get(key) == str(digest):
            return path
        actual, _ = hash_file(path)
        if actual != digest:
            raise IntegrityError(
                f"cache object {digest} is corrupted (its bytes hash to {actual}); it was not "
                "used. Run `mlineage fsck --repair`, then `mlineage pull` to fetch it again"
            )
        self.statcache.put_many([(key, str(digest))])
        return path

    def read_manifest(self, digest: Digest) -> list[ManifestEntry]:
        path = self.verify_object(digest)
        return parse_manifest(path.read_bytes())

