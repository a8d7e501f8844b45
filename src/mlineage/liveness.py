"""Whether a run recorded as running is still going. It is *lost* when its process is gone (same host, pid no
longer alive) or when its last sign of life (its latest event or heartbeat, see ``mlineage.heartbeat``) is
older than ``lost_after_seconds()``. It stays ``running`` in the ledger until someone records its end
(``mlineage run close``); what users see says ``lost`` and why."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .model import Run, RunStatus

if TYPE_CHECKING:
    from .stores.protocol import MetadataStore


def lost_reason(run: Run, store: MetadataStore | None = None) -> str | None:
    """Why a running run is lost, or None when it may still be going (or has ended). With ``store``, a run
    with no sign of life for too long is lost too, wherever it ran."""
    if run.status is not RunStatus.RUNNING:
        return None
    pid, host = run.context.get("pid"), run.context.get("host")
    if isinstance(pid, int) and not isinstance(pid, bool) and isinstance(host, str):
        from .capture.basic import host_name

        if host == host_name() and not process_alive(pid):
            return f"its process {pid} on {host} is gone"
    if store is not None:
        from .heartbeat import lost_after_seconds

        seen = store.last_seen(run.id)
        if seen is not None and _age_seconds(seen) > lost_after_seconds():
            return f"no heartbeat since {seen}"
    return None


def _age_seconds(timestamp: str) -> float:
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (datetime.now(UTC) - moment).total_seconds()


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

