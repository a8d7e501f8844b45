"""Whether a run recorded as running is still going: a run whose process is gone (same host, pid no longer
alive) is *lost*. It stays ``running`` in the ledger until someone records its end (``mlineage run close``);
what users see says ``lost`` and why."""

from __future__ import annotations

import os

from .model import Run, RunStatus


def lost_reason(run: Run) -> str | None:
    """Why a running run is lost, or None when it may still be going (or has ended)."""
    if run.status is not RunStatus.RUNNING:
        return None
    pid, host = run.context.get("pid"), run.context.get("host")
    if isinstance(pid, int) and not isinstance(pid, bool) and isinstance(host, str):
        from .capture.basic import host_name

        if host == host_name() and not process_alive(pid):
            return f"its process {pid} on {host} is gone"
    return None


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists here (one of another user counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def shown_status(run: Run) -> str:
    """The status users see: ``lost`` for a running run whose process is gone."""
    return "lost" if lost_reason(run) else run.status.value
