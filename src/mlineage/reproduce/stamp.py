"""A no-op ``reproduce --upstream`` remembered, so that asking again with nothing changed costs a glance.

The answer of ``--upstream`` is a function of the ledger, the code in the working tree, the environment and
the file REF names. When a full check finds every step up to date, its answer is kept in the project's
``.mlineage/reproduce/`` folder with a fingerprint of those four: the ledger head (read with plain
``sqlite3``), HEAD, the index stamp, ``git status`` with the size and time of every file it lists, the
size and time of each step's declared source files and of REF, and the package-cache key of the interpreter
(``capture/package_cache.py``). The next call computes the fingerprint without opening the store through
SQLAlchemy or building the lineage graph, and prints the kept answer when it matches; any difference (a new
event, an edit, an installed package) means the full check runs. SQLite projects only: a PostgreSQL store or
a team server always takes the full check.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

STAMP_FOLDER = "reproduce"


def _stat(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def _ledger_head(store_uri: str) -> list[Any] | None:
    import sqlite3

    from ..config import sqlite_path

    path = sqlite_path(store_uri)
    if path is None or not os.path.exists(path):
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            row = conn.execute("SELECT seq, hash FROM ledger_head").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return list(row) if row else [0, ""]


def fingerprint(store_uri: str, repo: Path, ref: str, cwd: Path, watched: list[str]) -> dict[str, Any] | None:
    """The state a no-op answer depends on (see the module docstring); None when it cannot be taken."""
    from ..capture.git import find_git_dir, head_commit, index_stamp
    from ..capture.package_cache import environment_key

    head = _ledger_head(store_uri)
    git_dir = find_git_dir(repo)
    git = shutil.which("git")
    if head is None or git_dir is None or git is None:
        return None
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0", LC_ALL="C")
    status = subprocess.run(
        [git, "-C", str(repo), "status", "--porcelain=v1", "-z", "--untracked-files=all"],
        capture_output=True,
        env=env,
        check=False,
    )
    if status.returncode != 0:
        return None
    entries = status.stdout.split(b"\0")
    listed = sorted({e[3:].decode("utf-8", "surrogateescape") for e in entries if len(e) > 3})
    ref_path = cwd / ref
    return {
        "ledger": head,
        "head": list(head_commit(git_dir)),
        "index": list(index_stamp(git_dir)),
        "status": hashlib.sha256(status.stdout).hexdigest(),
        "listed": {p: _stat(repo / p) for p in listed},
        "watched": {p: _stat(repo / p) for p in sorted(watched)},
        "ref": _stat(ref_path) if ref_path.is_file() else None,
        "environment": environment_key(),
    }


def _path(project: Path, ref: str, cwd: Path) -> Path:
    name = hashlib.sha256(f"{cwd}\0{ref}".encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return project / ".mlineage" / STAMP_FOLDER / f"upstream-{name}.json"


def load(project: Path | None, store_uri: str, ref: str, cwd: Path) -> dict[str, Any] | None:
    """The kept answer when the fingerprint still matches, else None."""
    if project is None:
        return None
    try:
        kept = json.loads(_path(project, ref, cwd).read_text())
        repo = Path(kept["repo"])
        now = fingerprint(store_uri, repo, ref, cwd, list(kept["fingerprint"]["watched"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if now is None or now != kept["fingerprint"]:
        return None
    answer: dict[str, Any] = kept["answer"]
    return answer


def save(
    project: Path | None,
    store_uri: str,
    ref: str,
    cwd: Path,
    repo: Path,
    watched: list[str],
    answer: dict[str, Any],
    ledger: list[Any] | None = None,
) -> None:
    """Keep a no-op answer (a failure to write only costs the next call the full check). ``ledger``: the
    head the answer was read at, when the caller knows it; an answer older than the head now is not kept."""
    if project is None:
        return
    found = fingerprint(store_uri, repo, ref, cwd, watched)
    if found is None or (ledger is not None and found["ledger"] != ledger):
        return
    path = _path(project, ref, cwd)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp.write_text(json.dumps({"repo": str(repo), "fingerprint": found, "answer": answer}))
        os.replace(temp, path)
    except OSError:
        temp.unlink(missing_ok=True)
