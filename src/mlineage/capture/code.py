"""The code a run executed: git commit, branch, remote, dirty state anchored by digests, entry script, files.

The result is a *code manifest*, a small JSON document stored as a content-addressed artifact of kind
``code``: two runs of the same code get the same digest, and an uncommitted change still gets a digest of its
own (the SHA-256 of ``git diff HEAD`` plus the digests of untracked source files).

Cost and caching: reading HEAD, the branch and the remote needs no subprocess. The dirty state needs two
(``git status`` and ``git diff HEAD``, a few milliseconds each), so it is computed once per process for each
(work tree, HEAD commit, index mtime and size) and reused. The trade-off: an edit to a tracked file that is
neither staged nor committed *after* the first run of a process started is not seen by later runs of that
process. That is usually what ran anyway: Python imported the modules when the process started, and an edit
after that changes the file on disk, not the running code. Set ``MLINEAGE_CODE_RESCAN=1`` to recompute the
dirty state on every run (milliseconds per run).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import git as git_files
from .git import find_git_dir, head_commit, index_stamp, remote_urls, work_tree_of
from .redact import redact_text

# Untracked files with these suffixes count as source: they are hashed into the code manifest.
SOURCE_SUFFIXES = frozenset({
    ".py", ".pyi", ".pyx", ".pxd", ".ipynb", ".sh", ".bash", ".sql", ".r", ".jl", ".scala", ".java", ".kt",
    ".js", ".ts", ".c", ".cc", ".cpp", ".h", ".hpp", ".cu", ".rs", ".go", ".yaml", ".yml", ".toml", ".json",
    ".cfg", ".ini", ".txt", ".mk",
})
SOURCE_NAMES = frozenset({"Makefile", "Dockerfile", "Snakefile", "Justfile", "Pipfile"})
MAX_UNTRACKED_FILES = 500
IGNORED_PREFIXES = (".mlineage/",)  # mlineage's own store, when a project has not git-ignored it
MAX_SOURCE_BYTES = 10 << 20
GIT_TIMEOUT_S = 20.0

_git_state_cache: dict[tuple[Any, ...], dict[str, Any]] = {}
_file_digest_cache: dict[tuple[str, int, int], str] = {}
_entry_cache: dict[str, Path | None] = {}
# the bytes of recent uncommitted diffs by digest: stored once as a blob, so a dirty run can be rebuilt
_diff_bytes: dict[str, bytes] = {}


def diff_bytes(digest: str) -> bytes | None:
    """The ``git diff HEAD`` output this process hashed to ``digest``, if it still has it."""
    return _diff_bytes.get(digest)


def clear_cache() -> None:
    git_files.clear_cache()
    _diff_bytes.clear()
    _git_dir_cache.clear()
    _git_state_cache.clear()
    _file_digest_cache.clear()
    _entry_cache.clear()


def file_digest(path: Path) -> tuple[str, int] | None:
    """``sha256:<hex>`` and size of a file, cached on (path, mtime, size); None if unreadable."""
    try:
        st = path.stat()
    except OSError:
        return None
    key = (str(path), st.st_mtime_ns, st.st_size)
    cached = _file_digest_cache.get(key)
    if cached is None:
        h = hashlib.sha256()
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    h.update(chunk)
        except OSError:
            return None
        cached = _file_digest_cache[key] = f"sha256:{h.hexdigest()}"
    return cached, st.st_size


def is_source_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name in SOURCE_NAMES or os.path.splitext(name)[1].lower() in SOURCE_SUFFIXES


def _git(work_tree: Path, *args: str) -> bytes | None:
    git = shutil.which("git")
    if git is None:
        return None
    env = dict(
        os.environ, GIT_OPTIONAL_LOCKS="0", LC_ALL="C"
    )  # never take the index lock from under the user
    try:
        done = subprocess.run([git, "-C", str(work_tree), *args], capture_output=True, env=env,
                              timeout=GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _dirty_state(work_tree: Path, has_commit: bool) -> dict[str, Any]:
    status = _git(work_tree, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    if status is None:
        return {"dirty": None}
    entries = [e for e in status.split(b"\0") if e]
    untracked: list[str] = []
    changed = 0
    skip_next = False
    for entry in entries:
        if skip_next:  # the source path of a rename
            skip_next = False
            continue
        code, path = entry[:2], entry[3:].decode("utf-8", "surrogateescape")
        if code == b"??":
            if not path.startswith(IGNORED_PREFIXES):
                untracked.append(path)
        else:
            changed += 1
            skip_next = code[:1] in (b"R", b"C")
    state: dict[str, Any] = {"dirty": bool(entries), "changed_files": changed}
    if has_commit and changed:
        diff = _git(work_tree, "diff", "HEAD", "--binary", "--no-ext-diff", "--no-color", "--no-textconv")
        if diff is not None:
            state["diff_sha256"] = "sha256:" + hashlib.sha256(diff).hexdigest()
            state["diff_bytes"] = len(diff)
            if len(_diff_bytes) > 8:
                _diff_bytes.clear()
            _diff_bytes[state["diff_sha256"]] = diff
    source = sorted(p for p in untracked if is_source_file(p))
    files = []
    for rel in source[:MAX_UNTRACKED_FILES]:
        found = file_digest(work_tree / rel)
        if found is not None and found[1] <= MAX_SOURCE_BYTES:
            files.append({"path": rel, "digest": found[0], "size": found[1]})
    state["untracked"] = files
    if len(untracked) > len(files):
        state["untracked_other"] = len(untracked) - len(files)  # non-source, oversized or beyond the cap
    return state


_git_dir_cache: dict[str, Path | None] = {}


def cached_git_dir(start: Path) -> Path | None:
    """``find_git_dir`` cached per folder: the folder a process runs in does not move into another
    repository."""
    key = str(start)
    if key not in _git_dir_cache:
        _git_dir_cache[key] = find_git_dir(start)
    return _git_dir_cache[key]


def git_state(start: Path) -> dict[str, Any] | None:
    """The git part of the code manifest for the repository containing ``start`` (None outside git)."""
    git_dir = cached_git_dir(start)
    if git_dir is None:
        return None
    commit, branch = head_commit(git_dir)
    work_tree = work_tree_of(git_dir)
    key = (str(work_tree), commit, branch, index_stamp(git_dir))
    cached = _git_state_cache.get(key)
    if cached is not None and os.environ.get("MLINEAGE_CODE_RESCAN") != "1":
        return cached
    remotes = remote_urls(git_dir)
    remote = remotes.get("origin") or next(iter(remotes.values()), None)
    state: dict[str, Any] = {"commit": commit, "branch": branch, "root": str(work_tree)}
    if remote is not None:
        state["remote"] = redact_text(remote)
    state.update(_dirty_state(work_tree, commit is not None))
    _git_state_cache[key] = state
    return state


def entry_script() -> Path | None:
    """The script the interpreter was started with (``python train.py``), if there is one."""
    main = sys.modules.get("__main__")
    candidate = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv and sys.argv[0] else None)
    if not candidate:
        return None
    if candidate not in _entry_cache:  # resolve() costs a syscall per path component: once per process
        path = Path(candidate)
        _entry_cache[candidate] = path.resolve() if path.is_file() else None
    return _entry_cache[candidate]


def _display_path(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return str(path)


def named_files(paths: tuple[str, ...], root: Path | None) -> list[dict[str, Any]]:
    """Digests of the files the user named; a named folder contributes its source files."""
    out: dict[str, dict[str, Any]] = {}
    for name in paths:
        base = Path(name).resolve()
        candidates: list[Path] = []
        if base.is_dir():
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
                candidates.extend(Path(dirpath, f) for f in sorted(filenames) if is_source_file(f))
        elif base.is_file():
            candidates.append(base)
        for file in candidates:
            found = file_digest(file)
            if found is not None:
                shown = _display_path(file, root)
                out[shown] = {"path": shown, "digest": found[0], "size": found[1]}
    return [out[k] for k in sorted(out)]


def code_manifest(cwd: Path, source_files: tuple[str, ...] = ()) -> dict[str, Any]:
    """The code manifest document (JSON-ready). Paths inside the repository are relative to its root, so two
    clones of the same commit produce the same manifest."""
    doc: dict[str, Any] = {"schema": "mlineage.code/1"}
    git = git_state(cwd)
    root: Path | None = None
    if git is not None:
        git = dict(git)  # the cached state is shared: never mutate it
        root = Path(git.pop("root"))
        doc["git"] = git
    entry = entry_script()
    if entry is not None:
        found = file_digest(entry)
        if found is not None:
            doc["entry"] = {"path": _display_path(entry, root), "digest": found[0], "size": found[1]}
    if source_files:
        doc["files"] = named_files(source_files, root)
    return doc
