"""The stat cache: digests of files remembered by (device, inode, size, mtime_ns), so unchanged files are
never re-hashed.

It is local, disposable state, never the ledger: deleting it only costs a re-hash. Single files are rows of
``.mlineage/statcache.db`` (SQLite, WAL). Whole directories are remembered as they were last scanned (a
``Tree``: every file's path and stat numbers in manifest order, with each file's digest and the manifest's
digest), one binary file per directory under ``.mlineage/trees/`` replaced atomically: a megabyte for 10,000
files, which SQLite would write twice (WAL, then checkpoint). So ``status`` on an unchanged 10,000-file
directory is one walk and one comparison of two byte strings, and re-adding it after one file changed hashes
that file alone and reuses every other digest.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from .walk import (
    _TREE_MAGIC,
    STAT_FIELDS,
    TREES_DIR,
    UnsupportedEntry,
    read_tree_file,
    tree_file,
    walk_rows,
)
from .walk import checksum as _checksum
from .walk import decode_names as _decode_names
from .walk import encode_names as _encode_names

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

_SCHEMA_VERSION = 4  # a cache written by another layout is rebuilt (it is only a cache)
_SCHEMA = f"""
DROP TABLE IF EXISTS dirs;
DROP TABLE IF EXISTS trees;
DROP TABLE IF EXISTS files;
CREATE TABLE files (
    dev INTEGER NOT NULL, ino INTEGER NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    digest TEXT NOT NULL, checksum INTEGER NOT NULL, PRIMARY KEY (dev, ino)
) WITHOUT ROWID;
PRAGMA user_version = {_SCHEMA_VERSION};
"""


class StatKey(NamedTuple):
    dev: int
    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> StatKey:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class Tree(NamedTuple):
    """A directory as one walk saw it: relative POSIX paths in manifest (sorted) order, and for each file
    ``STAT_FIELDS`` numbers in ``stats`` (device, inode, size, mtime_ns, mode & 0o111)."""

    names: list[str]
    stats: array[int]

    def stat_of(self, i: int) -> FileStat:
        dev, ino, size, mtime_ns, xbits = self.stats[i * STAT_FIELDS : (i + 1) * STAT_FIELDS]
        return FileStat(dev, ino, size, mtime_ns, xbits)

    def sizes(self) -> array[int]:
        return self.stats[2::STAT_FIELDS]

    def same_as(self, other: Tree) -> bool:
        return self.stats == other.stats and self.names == other.names


class FileStat(NamedTuple):
    """The stat numbers a Tree keeps of a file, under os.stat_result's attribute names."""

    st_dev: int
    st_ino: int
    st_size: int
    st_mtime_ns: int
    st_mode: int  # the executable bits only


class TreeRecord(NamedTuple):
    """What the stat cache remembers of a scanned directory: its Tree, each file's digest, the manifest's."""

    tree: Tree
    digests: bytes  # 32 raw SHA-256 bytes per file, in the Tree's order
    digest: str  # the manifest's digest, "sha256:<hex>"
    size: int
    stored: bool = False  # an `add` put every object of this manifest in the cache (gc and fsck reset it)


def walk_stats(root: str) -> list[tuple[str, str, os.stat_result]]:
    """Every regular file under root as (relative posix path, absolute path, lstat).

    Each folder is scanned through an open descriptor, so every stat is an ``fstatat`` relative to it (about
    three times cheaper here than an ``lstat`` of the full path, which matters on a 10,000-file tree).
    Raises UnsupportedEntry for a symlink or special file, PermissionError for an unreadable folder.
    """
    out: list[tuple[str, str, os.stat_result]] = []
    stack = [(root, "")]
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    while stack:
        folder, prefix = stack.pop()
        fd = os.open(folder, flags)
        try:
            with os.scandir(fd) as it:
                for e in it:
                    name = e.name
                    if e.is_symlink():
                        raise UnsupportedEntry(f"{folder}/{name}")
                    if e.is_dir(follow_symlinks=False):
                        stack.append((f"{folder}/{name}", f"{prefix}{name}/"))
                    elif e.is_file(follow_symlinks=False):
                        if not name.startswith(".mlineage-tmp-"):
                            out.append((prefix + name, f"{folder}/{name}", e.stat(follow_symlinks=False)))
                    else:
                        raise UnsupportedEntry(f"{folder}/{name}")
        finally:
            os.close(fd)
    return out


def walk_tree(root: str) -> Tree:
    """``walk_rows`` as a Tree: every regular file under root, in manifest order, with its stat numbers."""
    return Tree(*walk_rows(root))


class StatCache:
    """Digest lookups by stat key. Safe to share between processes (SQLite WAL, busy timeout)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            import sqlite3

            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                conn = self._connect()
            except sqlite3.DatabaseError:
                # A corrupt cache is worth nothing: start a fresh one rather than fail the command.
                for suffix in ("", "-wal", "-shm"):
                    try:
                        os.unlink(f"{self.path}{suffix}")
                    except FileNotFoundError:
                        pass
                conn = self._connect()
            self._conn = conn
        return self._conn

    def _connect(self) -> sqlite3.Connection:
        import sqlite3

        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            # No fsync: on this path it costs more than the whole lookup. A process crash cannot damage a
            # WAL database; after a power loss a row may be lost (a re-hash) or damaged, and every row carries
            # a checksum of its key and digest, so a damaged row is a miss, never a wrong digest.
            conn.execute("PRAGMA synchronous=OFF")
            if conn.execute("PRAGMA user_version").fetchone()[0] != _SCHEMA_VERSION:
                conn.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} COMMIT;")
        except BaseException:
            conn.close()
            raise
        return conn

    def get(self, key: StatKey) -> str | None:
        row = self._db().execute(
            "SELECT digest, checksum FROM files WHERE dev=? AND ino=? AND size=? AND mtime_ns=?", key
        ).fetchone()
        return row[0] if row and _checksum(key, row[0]) == row[1] else None

    def get_many(self, keys: list[StatKey]) -> list[str | None]:
        if not keys:
            return []
        db = self._db()
        if len(keys) > 64:
            wanted = {(k.dev, k.ino) for k in keys}
            found = {
                (dev, ino): (size, mtime, digest, checksum)
                for dev, ino, size, mtime, digest, checksum in db.execute("SELECT * FROM files")
                if (dev, ino) in wanted
            }
            out: list[str | None] = []
            for k in keys:
                hit = found.get((k.dev, k.ino))
                ok = hit and hit[0] == k.size and hit[1] == k.mtime_ns and _checksum(k, hit[2]) == hit[3]
                out.append(hit[2] if ok else None)  # type: ignore[index]
            return out
        return [self.get(k) for k in keys]

    def put_many(self, rows: Iterable[tuple[StatKey, str]]) -> None:
        db = self._db()
        data = [(k.dev, k.ino, k.size, k.mtime_ns, d, _checksum(k, d)) for k, d in rows]
        if not data:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)", data)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @property
    def _trees(self) -> str:
        return str(self.path.parent / TREES_DIR)

    def get_tree(self, path: str) -> TreeRecord | None:
        """The directory at ``path`` as last scanned (None if never, or if the saved record is damaged)."""
        saved = read_tree_file(self._trees, path)
        if saved is None:
            return None
        digest, size, stored, names_blob, stats_blob, digests = saved
        stats = array("q")
        try:
            stats.frombytes(stats_blob)
            names = _decode_names(names_blob)
        except (ValueError, UnicodeDecodeError):
            return None
        if len(stats) != STAT_FIELDS * len(names) or len(digests) != 32 * len(names):
            return None
        return TreeRecord(Tree(names, stats), digests, digest, size, stored)

    def put_tree(self, path: str, record: TreeRecord) -> None:
        """Save a directory's record (atomically: a temp file renamed over the old one)."""
        from .placement import removed_on_failure, unique_name

        folder = self._trees
        if not os.path.isdir(folder):
            os.makedirs(folder, exist_ok=True)
            with open(f"{folder}/.gitignore", "w", encoding="utf-8") as handle:
                handle.write("*\n")
        raw_path = path.encode("utf-8", "surrogateescape")
        names, stats = _encode_names(record.tree.names), record.tree.stats.tobytes()
        head = (f"{_TREE_MAGIC.decode()} {record.digest} {record.size} {int(record.stored)} {len(raw_path)} "
                f"{len(names)} {len(stats)} {len(record.digests)}\n").encode("ascii")
        temp = f"{folder}/{unique_name('.tmp-')}"
        with removed_on_failure(temp):
            with open(temp, "wb") as handle:
                handle.write(b"".join((head, raw_path, names, stats, record.digests)))
            os.replace(temp, tree_file(folder, path))

    def forget_trees(self) -> None:
        """Objects left the cache: forget every directory record (the next add re-checks the cache)."""
        try:
            entries = os.listdir(self._trees)
        except FileNotFoundError:
            return
        for name in entries:
            if not name.startswith("."):
                try:
                    os.unlink(f"{self._trees}/{name}")
                except FileNotFoundError:
                    pass

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class NoStatCache(StatCache):
    """Remembers nothing: every lookup misses (for tests and `--no-cache` style runs)."""

    def __init__(self) -> None:
        from pathlib import Path

        super().__init__(Path(os.devnull))

    def get(self, key: StatKey) -> str | None:
        return None

    def get_many(self, keys: list[StatKey]) -> list[str | None]:
        return [None] * len(keys)

    def put_many(self, rows: Iterable[tuple[StatKey, str]]) -> None:
        return None

    def get_tree(self, path: str) -> TreeRecord | None:
        return None

    def put_tree(self, path: str, record: TreeRecord) -> None:
        return None

    def forget_trees(self) -> None:
        return None

    def forget(self, keys: Iterable[StatKey]) -> None:
        return None
