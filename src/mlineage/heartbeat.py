"""Heartbeats: a run that writes nothing for a while says it is alive, so a run whose process vanished
(killed, its machine lost) can be told from a long quiet one, on any host.

One event type, ``RunHeartbeat`` (run id and time), and one projection that keeps each run's latest in its
own table. The SDK's flusher thread already wakes every few seconds for an open run; when the run has written
nothing for ``heartbeat_seconds()`` it appends a heartbeat, so a busy run (metrics flowing) never writes one.
A running run whose last sign of life (its last event or heartbeat) is older than ``lost_after_seconds()``
shows as lost (``mlineage.liveness``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .catalogue import EventSpec, register_event
from .errors import ValidationError
from .stores.projections import Projection, register_projection

if TYPE_CHECKING:
    from sqlalchemy import Table

    from .events import StoredEvent

RUN_HEARTBEAT = "RunHeartbeat"
DEFAULT_HEARTBEAT_SECONDS = 60.0
DEFAULT_LOST_AFTER_SECONDS = 600.0


def _seconds(variable: str, default: float) -> float:
    try:
        return max(0.0, float(os.environ.get(variable, default)))
    except ValueError:
        return default


def heartbeat_seconds() -> float:
    """How long an open run may write nothing before it writes a heartbeat
    (``MLINEAGE_HEARTBEAT_SECONDS``)."""
    return _seconds("MLINEAGE_HEARTBEAT_SECONDS", DEFAULT_HEARTBEAT_SECONDS)


def lost_after_seconds() -> float:
    """How old a running run's last sign of life may be before it shows as lost (``MLINEAGE_LOST_AFTER``)."""
    return _seconds("MLINEAGE_LOST_AFTER", DEFAULT_LOST_AFTER_SECONDS)


def _validate(p: Mapping[str, Any]) -> dict[str, Any]:
    from .events import utc_now

    run_id, at = p.get("run_id"), p.get("at")
    if not isinstance(run_id, str) or not run_id or len(run_id) > 128:
        raise ValidationError("run_id", "must be a run id (a non-empty string of at most 128 characters)")
    if at is not None and (not isinstance(at, str) or len(at) > 40):
        raise ValidationError("at", "must be an ISO time, as 2026-05-01T12:00:00.000000Z")
    return {"run_id": run_id, "at": at or utc_now()}


RUN_HEARTBEAT_SPEC = register_event(
    EventSpec(
        RUN_HEARTBEAT,
        _validate,
        references=lambda p: (("run", p["run_id"]),),
        projections=("run_heartbeats",),
    )
)


def _table() -> Table:
    from sqlalchemy import BigInteger, Column, MetaData, String, Table

    return Table("run_heartbeats", MetaData(), Column("run_id", String(128), primary_key=True),
                 Column("at", String(40), nullable=False), Column("seq", BigInteger, nullable=False))


class RunHeartbeatsProjection(Projection):
    """Owns ``run_heartbeats``: each run's latest heartbeat."""

    name = "run_heartbeats"
    tables = ("run_heartbeats",)

    @classmethod
    def schema(cls) -> Sequence[Table]:
        return [_table()]

    def handlers(self) -> dict[str, Any]:
        return {RUN_HEARTBEAT: self._heartbeat}

    def _heartbeat(self, e: StoredEvent, p: dict[str, Any]) -> None:
        self.writer.projection("runs").state(p["run_id"])  # a heartbeat needs its run
        params = {"r": p["run_id"], "a": p["at"], "s": e.seq}
        if self.writer.one("SELECT 1 FROM run_heartbeats WHERE run_id = :r", {"r": p["run_id"]}):
            self.writer.execute("UPDATE run_heartbeats SET at = :a, seq = :s WHERE run_id = :r", params)
        else:
            self.writer.execute("INSERT INTO run_heartbeats (run_id, at, seq) VALUES (:r, :a, :s)", params)


register_projection(RunHeartbeatsProjection)
