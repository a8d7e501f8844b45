"""Runs: one row per run with its params, latest metric values and status; and the pure fold of run events.

``fold_run`` applies one run event to a ``Run`` record with no I/O, by the same rules as the projection's
handlers (params are immutable, the last value of each metric wins). Reads that cannot use the table as it is
now use it: the as-of reads (``stores/records.py``) and a client's view of runs it wrote but the server has
not acknowledged yet.
"""

from __future__ import annotations

import dataclasses
import json
import operator
from collections.abc import Iterable
from typing import Any

from ... import events as ev
from ...errors import LedgerError, NotFoundError, ValidationError
from ...events import StoredEvent
from ...jsonvalues import with_floats
from ...model import NodeKind, Run, RunKind, RunStatus
from .base import Handler, Projection

RUN_EVENTS = (ev.RUN_STARTED, ev.PARAMS_LOGGED, ev.METRICS_LOGGED, ev.RUN_ENDED)
"""The event types that change a run record (what ``fold_run`` reads)."""

_KEY, _VALUE = operator.itemgetter("key"), operator.itemgetter("value")


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fold_run(run: Run | None, event_type: str, payload: dict[str, Any] | None) -> Run | None:
    """The run after one event (``run`` is None before its ``RunStarted``). Events of other types, erased
    payloads and events of a run not started yet leave ``run`` as it is. Pure: no I/O, no checks (what reaches
    the ledger was checked when it was written)."""
    if payload is None:
        return run
    if event_type == ev.RUN_STARTED:
        return Run(
            payload["run_id"],
            payload["job"],
            RunKind(payload["kind"]),
            RunStatus.RUNNING,
            dict(with_floats(payload.get("params") or {}, payload.get("float_params"))),
            {},
            dict(payload.get("context") or {}),
            payload.get("agent"),
            None,
            payload.get("started_at"),
            None,
        )
    if run is None:
        return None
    if event_type == ev.PARAMS_LOGGED:
        return dataclasses.replace(
            run, params={**run.params, **with_floats(payload["params"], payload.get("float_params"))}
        )
    if event_type == ev.METRICS_LOGGED:
        latest = dict(run.metrics)
        latest.update(zip(map(_KEY, payload["metrics"]), map(_VALUE, payload["metrics"]), strict=True))
        return dataclasses.replace(run, metrics=latest)
    if event_type == ev.RUN_ENDED:
        return dataclasses.replace(run, status=RunStatus(payload["status"]), ended_at=payload.get("ended_at"),
                                   error=payload.get("error"))
    return run


def fold_runs(events: Iterable[tuple[str, dict[str, Any] | None]],
              runs: dict[str, Run] | None = None) -> dict[str, Run]:
    """Fold ``(event type, payload)`` pairs, in ledger order, into run records by run id (updating ``runs``
    when given: a cache can keep folding as events arrive)."""
    out = {} if runs is None else runs
    for event_type, payload in events:
        if event_type not in RUN_EVENTS or payload is None:
            continue
        run_id = payload.get("run_id")
        folded = fold_run(out.get(run_id), event_type, payload)  # type: ignore[arg-type]
        if folded is not None:
            out[folded.id] = folded
    return out


class _RunState:
    __slots__ = ("metrics", "node_id", "params", "status")

    def __init__(self, node_id: int, status: str, params: dict[str, Any], metrics: dict[str, float]) -> None:
        self.node_id = node_id
        self.status = status
        self.params = params
        self.metrics = metrics


class RunsProjection(Projection):
    """Owns ``runs``. Remembers each run it has seen (node id, status, params, latest metrics) so that a
    training run's flushes do not read its row back."""

    name = "runs"
    tables = ("runs",)

    def __init__(self, writer: Any) -> None:
        super().__init__(writer)
        self._runs: dict[str, _RunState] = {}

    def handlers(self) -> dict[str, Handler]:
        return {ev.RUN_STARTED: self._run_started, ev.PARAMS_LOGGED: self._params_logged,
                ev.METRICS_LOGGED: self._metrics_logged, ev.RUN_ENDED: self._run_ended}

    def cached(self) -> int:
        return len(self._runs)

    def state(self, run_id: str) -> _RunState:
        """The run's node id and current state, or ``NotFoundError`` if it was never started."""
        state = self._runs.get(run_id)
        if state is None:
            row = self.writer.one(
                "SELECT node_id, status, params, metrics FROM runs WHERE id = :id", {"id": run_id}
            )
            if row is None:
                raise NotFoundError(f"run_id: run {run_id} is not recorded (start the run first)")
            state = self._runs[run_id] = _RunState(
                int(row[0]), row[1], json.loads(row[2]), json.loads(row[3])
            )
        return state

    def _run_started(self, e: StoredEvent, p: dict[str, Any]) -> None:
        run_id = p["run_id"]
        if run_id in self._runs or self.writer.one("SELECT 1 FROM runs WHERE id = :id", {"id": run_id}):
            raise LedgerError(f"run_id: run {run_id} already exists")
        node_id = self.writer.projection("graph").node(NodeKind.RUN, run_id, e.seq)
        params = with_floats(p["params"], p.get("float_params"))
        self.writer.execute(
            "INSERT INTO runs (id, node_id, job, kind, status, params, metrics, context, agent, error, "
            "started_at, "
            "ended_at, created_seq, updated_seq) VALUES (:id, :node_id, :job, :kind, 'running', :params, "
            "'{}', "
            ":context, :agent, NULL, :started_at, NULL, :seq, :seq)",
            {
                "id": run_id,
                "node_id": node_id,
                "job": p["job"],
                "kind": p["kind"],
                "params": _json(params),
                "context": _json(p["context"]),
                "agent": p.get("agent"),
                "started_at": p["started_at"],
                "seq": e.seq,
            },
        )
        self._runs[run_id] = _RunState(node_id, "running", dict(params), {})

    def _params_logged(self, e: StoredEvent, p: dict[str, Any]) -> None:
        run = self.state(p["run_id"])
        merged = dict(run.params)
        for key, value in with_floats(p["params"], p.get("float_params")).items():
            if key in merged and merged[key] != value:
                raise ValidationError(
                    f"params.{key}", f"already logged as {merged[key]!r}; params are immutable",
                    "log a metric, or use a new param name",
                )
            merged[key] = value
        self.writer.execute("UPDATE runs SET params = :params, updated_seq = :seq WHERE id = :id",
                            {"params": _json(merged), "seq": e.seq, "id": p["run_id"]})
        run.params = merged

    def _metrics_logged(self, e: StoredEvent, p: dict[str, Any]) -> None:
        run = self.state(p["run_id"])
        latest = dict(run.metrics)
        metrics = p["metrics"]
        latest.update(
            zip(map(_KEY, metrics), map(_VALUE, metrics), strict=True)
        )  # the last value of a key wins
        self.writer.execute("UPDATE runs SET metrics = :metrics, updated_seq = :seq WHERE id = :id",
                            {"metrics": _json(latest), "seq": e.seq, "id": p["run_id"]})
        run.metrics = latest

    def _run_ended(self, e: StoredEvent, p: dict[str, Any]) -> None:
        run = self.state(p["run_id"])
        if run.status != "running":
            raise LedgerError(f"run_id: run {p['run_id']} already ended as {run.status}")
        error = p.get("error")
        self.writer.execute(
            "UPDATE runs SET status = :status, ended_at = :ended_at, error = :error, updated_seq = :seq "
            "WHERE id = :id",
            {"status": p["status"], "ended_at": p["ended_at"], "error": _json(error) if error else None,
             "seq": e.seq, "id": p["run_id"]})
        run.status = p["status"]
