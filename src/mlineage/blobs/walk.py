"""Walking a tracked folder and reading its saved scan record, with nothing but ``os`` and ``array``.

Shared by the stat cache (``statcache.py``) and the quick ``status`` path (``mlineage.data.quick``), which
must start fast: this module imports no typing, SQLite or pathlib.
"""

from __future__ import annotations

import os
from array import array

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing before the walk starts
if TYPE_CHECKING:
    from ..background import Background

TREES_DIR = "trees"  # beside statcache.db
_TREE_MAGIC = b"mlineage-tree-v1"
STAT_FIELDS = 5  # numbers per file in a Tree: device, inode, size, mtime_ns, executable bits


class UnsupportedEntry(Exception):
    """A symlink or special file inside a tracked directory (``user_error`` says it to the user)."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def user_error(exc: UnsupportedEntry | PermissionError) -> Exception:
    """A walk's failure as the user sees it, in the same words from ``mlineage add`` and from the SDK.

    A directory's identity is the manifest of the regular files under it; a symbolic link or special file is
    refused rather than skipped (a digest that silently left content out would name two different folders
    alike) or followed (a link can lead out of the folder, and checkout could not give it back as a link).
    """
    from ..errors import ValidationError

    if isinstance(exc, UnsupportedEntry):
        return ValidationError(
            "path",
            f"{exc.path} is a symbolic link or special file, which is not versioned",
            "replace it with the file it points to, or move it out of the folder",
        )
    return ValidationError("path", f"{exc.filename} cannot be read (permission denied)",
                           "fix its permissions and try again")


def encode_names(names: list[str]) -> bytes:
    return "\0".join(names).encode("utf-8", "surrogateescape")


def decode_names(data: bytes) -> list[str]:
    return data.decode("utf-8", "surrogateescape").split("\0") if data else []


def checksum(key: tuple[int, int, int, int], digest: str) -> int:
    """CRC-32 of a files row, stored beside it: a row damaged by a power loss reads as a miss."""
    import zlib

    return zlib.crc32(f"{key[0]} {key[1]} {key[2]} {key[3]} {digest}".encode())


def tree_file(folder: str, path: str) -> str:
    """The file that remembers the directory ``path`` (its name from a checksum of the path; the path itself
    is stored inside and checked, so a collision is only a miss)."""
    import zlib

    raw = path.encode("utf-8", "surrogateescape")
    return f"{folder}/{zlib.crc32(raw):08x}{zlib.adler32(raw):08x}"


def read_tree_file(folder: str, path: str) -> tuple[str, int, bool, bytes, bytes, bytes] | None:
    """(manifest digest, size, stored, names, stats, digests) as saved for ``path``; None if absent or
    damaged."""
    try:
        with open(tree_file(folder, path), "rb") as handle:
            data = handle.read()
        head, _, body = data.partition(b"\n")
        magic, digest, size, stored, *lengths = head.decode("ascii").split(" ")
        n_path, n_names, n_stats, n_digests = (int(x) for x in lengths)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if magic != _TREE_MAGIC.decode() or len(body) != n_path + n_names + n_stats + n_digests:
        return None
    if body[:n_path] != path.encode("utf-8", "surrogateescape"):
        return None
    a, b = n_path + n_names, n_path + n_names + n_stats
    return digest, int(size), stored == "1", body[n_path:a], body[a:b], body[b:]


def tree_matches(names: list[str], stats: array[int], saved_names: bytes, saved_stats: bytes) -> bool:
    """Whether a walk gives exactly the saved rows (the quick ``status`` test: two byte comparisons)."""
    return stats.tobytes() == saved_stats and encode_names(names) == saved_names


def walk_rows(root: str) -> tuple[list[str], array[int]]:
    """Every regular file under root with its stat numbers, sorted by relative path (the manifest's order).

    Each folder is listed through an open descriptor, so every stat is an ``fstatat`` relative to it (cheaper
    than an ``lstat`` of the full path; on a 10,000-file tree the stats are most of the cost of a walk). A
    folder's entries are sorted by name, a subfolder's name with "/" appended, and visited depth first: that
    is exactly the order of the full relative paths, so no global sort is needed.
    Raises UnsupportedEntry for a symlink or special file, PermissionError for an unreadable folder.
    """
    names: list[str] = []
    numbers: list[int] = []
    _walk_into(root, "", names, numbers)
    try:
        stats = array("q", numbers)
    except OverflowError:  # an inode or device number past 2**63: store it bit for bit
        stats = array("q", array("Q", [n & 0xFFFFFFFFFFFFFFFF for n in numbers]).tobytes())
    return names, stats


_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)


def _walk_into(folder: str, prefix: str, names: list[str], numbers: list[int]) -> None:
    fd = os.open(folder, _DIR_FLAGS)
    try:
        with os.scandir(fd) as it:
            entries = {(e.name + "/" if e.is_dir(follow_symlinks=False) else e.name): e for e in it}
        add_name, add_numbers = names.append, numbers.extend
        for key in sorted(entries):
            e = entries[key]
            if key[-1] == "/":
                _walk_into(f"{folder}/{e.name}", prefix + key, names, numbers)
            elif e.is_file(follow_symlinks=False):
                if not key.startswith(".mlineage-tmp-"):
                    st = e.stat(follow_symlinks=False)  # fstatat(fd, name): fd is still open here
                    add_name(prefix + key)
                    add_numbers((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_mode & 0o111))
            else:
                raise UnsupportedEntry(f"{folder}/{key}")
    finally:
        os.close(fd)


Rows = tuple[list[str], "array[int]"]


class ChildWalk:
    """``walk_rows(root)`` in a forked child process, started now and collected with ``result()``.

    The walk of a large folder is a Python loop around ``fstatat`` calls; run on a thread beside the imports a
    command needs, the two take turns on the GIL and the walk adds its whole cost to the command's. A child
    process walks on the other core for real, so the caller mostly finds the rows ready. The child sends the
    rows back over a pipe in the scan record's encoding; if anything goes wrong there, ``result()`` walks
    again here, so that errors are raised in the caller as they would be without the child.
    """

    def __init__(self, root: str) -> None:
        self._root = root
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child's exit status and pipe are checked by the parent
            code = 1
            try:
                os.close(read_end)
                names, stats = walk_rows(root)
                encoded, numbers = encode_names(names), stats.tobytes()
                with open(write_end, "wb") as out:
                    out.write(b"%d %d %d\n" % (len(names), len(encoded), len(numbers)) + encoded + numbers)
                code = 0
            finally:
                os._exit(code)  # no atexit handlers, no flush of the parent's buffered output
        os.close(write_end)
        self._pid, self._read_end = pid, read_end

    def result(self) -> Rows:
        return self.received() or walk_rows(self._root)

    def received(self) -> Rows | None:
        """The child's rows, or None if it failed (a symlink inside, an unreadable folder, a killed child)."""
        with open(self._read_end, "rb") as pipe:
            data = pipe.read()  # read before waiting: the child blocks until the pipe is drained
        _, status = os.waitpid(self._pid, 0)
        head, _, body = data.partition(b"\n")
        try:
            count, n_names, n_numbers = (int(x) for x in head.split(b" "))
        except ValueError:
            return None
        if status != 0 or len(body) != n_names + n_numbers:
            return None
        names = decode_names(body[:n_names])
        stats = array("q")
        stats.frombytes(body[n_names:])
        if len(names) != count or len(stats) != count * STAT_FIELDS:
            return None
        return names, stats


def start_walk(root: str) -> ChildWalk | Background[Rows]:
    """Start walking ``root`` now, in a child process where that is safe (importing nothing beyond this
    module, so the console script can start it before anything else loads), else on a daemon thread."""
    if can_fork_walk():
        return ChildWalk(root)
    from functools import partial

    from ..background import Background

    return Background(partial(walk_rows, root), "mlineage-walk")


def can_fork_walk() -> bool:
    """Whether forking now is safe and useful: a POSIX fork, a second core, and no other Python thread (a
    child forked beside running threads may inherit a lock one of them held)."""
    import sys

    if not hasattr(os, "fork") or (os.cpu_count() or 1) < 2:
        return False
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() == 1
