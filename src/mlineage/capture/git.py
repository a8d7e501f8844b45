"""The git commit of a working tree, read from ``.git`` directly (no subprocess: this runs on every run)."""

from __future__ import annotations

import os
from pathlib import Path


def find_git_dir(start: Path) -> Path | None:
    for folder in (start.resolve(), *start.resolve().parents):
        candidate = folder / ".git"
        if candidate.is_dir():
            return candidate
        if candidate.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = candidate.read_text().strip()
            if text.startswith("gitdir:"):
                target = Path(text.split(":", 1)[1].strip())
                return target if target.is_absolute() else (folder / target).resolve()
    return None


def _read(path: str) -> str | None:
    """A small file's text, stripped; None when it cannot be read. ``os.open`` and ``os.read`` rather than
    ``open``: a text file object costs four more system calls (fstat, ioctl, lseek and a second read), and
    this runs for every tracked run."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", "replace").strip()


_common_dirs: dict[str, str] = {}


def clear_cache() -> None:
    _common_dirs.clear()


def _common(base: str) -> str:
    """The common directory of a git directory: itself, or what a linked worktree's ``commondir`` file names
    (read once per process: git never changes it)."""
    found = _common_dirs.get(base)
    if found is None:
        commondir = _read(os.path.join(base, "commondir"))
        found = _common_dirs[base] = os.path.normpath(os.path.join(base, commondir)) if commondir else base
    return found


def head_commit(git_dir: Path) -> tuple[str | None, str | None]:
    """(commit, branch) of HEAD; commit is None in a repository with no commits yet.

    Plain system calls, no pathlib: this runs on every tracked run and must cost microseconds."""
    base = str(git_dir)
    head = _read(os.path.join(base, "HEAD"))
    if head is None:
        return None, None
    if not head.startswith("ref:"):
        return head or None, None
    ref = head.split(":", 1)[1].strip()
    branch = ref.removeprefix("refs/heads/")
    common = _common(base)
    # a linked worktree shares its branches (refs/heads/) with the main one: they live in the common
    # directory only, so the worktree's own directory is not asked for them
    if common == base or not ref.startswith("refs/heads/"):
        found = _read(os.path.join(base, ref))
        if found:
            return found, branch
    if common != base:
        found = _read(os.path.join(common, ref))
        if found:
            return found, branch
    packed = _read(os.path.join(common, "packed-refs"))
    if packed:
        for line in packed.splitlines():
            if line.endswith(" " + ref):
                return line.split(" ", 1)[0], branch
    return None, branch


def work_tree_of(git_dir: Path) -> Path:
    """The work tree a git directory belongs to (its parent for a plain ``.git`` folder)."""
    if git_dir.name == ".git":
        return git_dir.parent
    gitdir_file = git_dir / "gitdir"  # a linked worktree: <worktree>/.git is named in this file
    if gitdir_file.is_file():
        return Path(gitdir_file.read_text().strip()).parent
    return git_dir.parent


def common_dir(git_dir: Path) -> Path:
    commondir = git_dir / "commondir"
    if commondir.is_file():
        return (git_dir / commondir.read_text().strip()).resolve()
    return git_dir


def remote_urls(git_dir: Path) -> dict[str, str]:
    """``{remote name: url}`` read from the repository's config file (credentials are NOT stripped here)."""
    config = common_dir(git_dir) / "config"
    try:
        text = config.read_text(errors="replace")
    except OSError:
        return {}
    urls: dict[str, str] = {}
    section: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            header = line.strip("[]").strip()
            section = header.split('"')[1] if header.startswith("remote ") and '"' in header else None
        elif section is not None and "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            if key.lower() == "url" and section not in urls:
                urls[section] = value
    return urls


def index_stamp(git_dir: Path) -> tuple[int, int]:
    """(mtime_ns, size) of the index: it changes on ``git add``, commit, checkout and most status
    refreshes."""
    try:
        st = os.stat(os.path.join(git_dir, "index"))
    except OSError:
        return 0, 0
    return st.st_mtime_ns, st.st_size
