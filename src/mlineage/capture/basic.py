"""The basic context every run carries: code version, interpreter, command line, who and where.

Computed once per process and reused: a training script that starts a thousand runs pays for it once.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any

from .git import find_git_dir, head_commit
from .redact import redact_argv


@functools.lru_cache(maxsize=1)
def _static_context() -> dict[str, Any]:
    import platform  # imported here: the data commands record an actor but never a run context

    return {
        "python": {"version": platform.python_version(), "implementation": platform.python_implementation()},
        "platform": platform.platform(terse=True),
        "user": current_user(),
        "host": host_name(),
    }


def host_name() -> str:
    """The host name (``uname -n``, what ``socket.gethostname()`` returns) without importing socket."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


@functools.lru_cache(maxsize=8)
def _git_context(cwd: str) -> dict[str, Any] | None:
    git_dir = find_git_dir(Path(cwd))
    if git_dir is None:
        return None
    commit, branch = head_commit(git_dir)
    return {"commit": commit, "branch": branch}


def current_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


@functools.lru_cache(maxsize=1)
def actor() -> str:
    # user and host only: the full static context asks platform for the processor (a `uname -p` subprocess)
    return f"{current_user()}@{host_name()}"


def static_context() -> dict[str, Any]:
    """Interpreter, platform, user and host: a fresh copy of what never changes within a process."""
    context = dict(_static_context())
    context["python"] = dict(context["python"])
    return context


def basic_context() -> dict[str, Any]:
    """The minimal context (no manifests): what a run records when full capture is switched off or fails."""
    context = static_context()
    context["argv"] = redact_argv(sys.argv)
    git = _git_context(os.getcwd())
    if git is not None:
        context["git"] = git
    return context
