"""Putting bytes where they belong: reflink, else copy (hardlink or symlink only when configured), atomically.

The default never lets the workspace and the cache share a file: with a hardlink or a symlink, an edit in
place (``echo x >> data/f.txt``) writes into the cache object too and the stored version is lost. A reflink
shares only extents (the filesystem copies them on write), so it is as safe as a copy.

Every write goes to a temporary name in the target's own folder and is renamed into place, so a crash leaves
at worst a stray ``.mlineage-tmp-*`` file, never a half-written target.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..errors import ValidationError

LINK_MODES = ("reflink", "hardlink", "symlink", "copy")
DEFAULT_LINK_MODES = ("reflink", "copy")
SHARING_MODES = frozenset({"hardlink", "symlink"})  # one file for workspace and cache
_FICLONE = 0x40049409  # Linux ioctl: share extents between two files (btrfs, XFS, bcachefs...)


def parse_link_modes(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return DEFAULT_LINK_MODES
    items = value.split(",") if isinstance(value, str) else list(value)
    modes = tuple(m.strip() for m in items if m.strip())
    bad = [m for m in modes if m not in LINK_MODES]
    if bad or not modes:
        raise ValidationError("link", f"unknown link mode(s) {bad or value!r}",
                              f"use a comma-separated list of {', '.join(LINK_MODES)}")
    return modes


_counter = itertools.count()
_made_dirs: set[str] = set()


def unique_name(prefix: str = ".mlineage-tmp-") -> str:
    """A name no other thread or process uses at the same time (pid, thread, counter): cheap, no syscalls."""
    return f"{prefix}{os.getpid()}-{threading.get_ident()}-{next(_counter)}"


def create_temp(folder: str | Path, prefix: str = ".mlineage-tmp-") -> tuple[int, str]:
    """A new, empty, private file under a unique name in ``folder`` (like ``tempfile.mkstemp``, without
    importing tempfile on the CLI's path): (open descriptor, path)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:  # a name can only be taken by a crashed process that had the same pid: then try the next
        path = os.path.join(folder, unique_name(prefix))
        try:
            return os.open(path, flags, 0o600), path
        except FileExistsError:
            continue


def ensure_dir(folder: str | Path) -> None:
    """mkdir -p, remembered for the process: only for the cache's own fan-out folders, which nothing
    removes."""
    key = str(folder)
    if key not in _made_dirs:
        os.makedirs(key, exist_ok=True)
        _made_dirs.add(key)


def temp_beside(target: Path) -> Path:
    """A fresh, unused name in target's folder (the folder is created; not memoised: workspaces change)."""
    os.makedirs(target.parent, exist_ok=True)
    return target.parent / unique_name()


def reflink(src: Path, dst: Path) -> None:
    import fcntl

    with open(src, "rb") as s, open(dst, "wb") as d:
        try:
            fcntl.ioctl(d.fileno(), _FICLONE, s.fileno())
        except OSError:
            d.close()
            os.unlink(dst)
            raise


_UNSUPPORTED: set[tuple[str, int, str]] = set()  # (mode, source device, target folder) that failed once
_NOT_SUPPORTED_ERRNOS = {
    errno.EOPNOTSUPP,
    errno.ENOTSUP,
    errno.EXDEV,
    errno.EINVAL,
    errno.ENOTTY,
    errno.EPERM,
    errno.EMLINK,
}


def link_or_copy(src: Path, dst: Path, modes: Sequence[str], src_dev: int | None = None) -> str:
    """Make ``dst`` (which must not exist) hold src's bytes by the first mode that works; return that mode.

    A mode the filesystem refuses (no reflink on ext4, no hardlink across devices) is remembered for the
    process, so a 10,000-file add tries it once, not 10,000 times.
    """
    last: OSError | None = None
    folder = os.path.dirname(dst)
    for mode in modes:
        memo = (mode, src_dev if src_dev is not None else -1, folder if mode == "hardlink" else "")
        if src_dev is not None and memo in _UNSUPPORTED:
            continue
        try:
            if mode == "reflink":
                reflink(src, dst)
            elif mode == "hardlink":
                os.link(src, dst)
            elif mode == "symlink":
                os.symlink(src, dst)
            else:
                import shutil

                shutil.copyfile(src, dst)
            return mode
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise
            if src_dev is not None and exc.errno in _NOT_SUPPORTED_ERRNOS and mode != "copy":
                _UNSUPPORTED.add(memo)
            last = exc
            continue
    assert last is not None
    raise last


@contextlib.contextmanager
def removed_on_failure(temp: str | os.PathLike[str]) -> Iterator[None]:
    """Whatever fails (or is interrupted) before a temp file is renamed into place, it does not stay behind:
    the one guard every atomic write in mlineage uses."""
    try:
        yield
    except BaseException:
        if os.path.lexists(temp):
            os.unlink(temp)
        raise


def publish(temp: str | os.PathLike[str], target: str | os.PathLike[str], mode: int | None = None) -> None:
    """Rename a finished temp file over ``target`` (after setting its permission bits).

    rename(2) does nothing when both names are hardlinks to one inode (another process stored the same
    file a moment ago): the content is in place, so the temp name is simply removed."""
    if mode is not None:
        os.chmod(temp, mode)
    os.replace(temp, target)
    if os.path.lexists(temp):
        os.unlink(temp)


def write_text_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace a small text file (a pointer, a .gitignore) through a temp file in the same folder. A file name
    that is not UTF-8 (in a .gitignore) is written as the bytes it is on disk, as git reads it."""
    fd, temp = create_temp(path.parent)
    with removed_on_failure(temp):
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as out:
            out.write(text)
        publish(temp, path, mode)


def place(src: Path, target: Path, modes: Sequence[str], mode_bits: int | None = None,
          src_dev: int | None = None) -> str:
    """Atomically replace ``target`` with src's bytes (link or copy). Returns the mode used."""
    temp = temp_beside(target)
    with removed_on_failure(temp):
        used = link_or_copy(src, temp, modes, src_dev)
        if used in ("copy", "reflink") and mode_bits is not None:
            os.chmod(temp, mode_bits)
        if target.is_dir() and not target.is_symlink():
            import shutil

            shutil.rmtree(target)
        publish(temp, target)
    return used
