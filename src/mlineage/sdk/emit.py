"""Event-based tracking: the execution layer emits domain events instead of wrapping code in a run.

``emit("DataIngested", digest=..., name=...)``, ``emit("TrainingStarted", run_id=..., inputs=[...])``,
``emit("ModelExported", run_id=..., digest=...)`` ... each maps to ledger events and goes through the Client,
so with ``MLINEAGE_URI=http(s)://server`` it lands in the durable spool and ships to the server. A dict that
is an OpenLineage RunEvent (``emit(ol_event)``) is mapped by ``mlineage.interop.openlineage``.

Every emitted event may carry ``event_id``; the same id always yields the same ledger ids, so re-emitting
after a crash is harmless.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .. import events as ev
from ..errors import ValidationError
from ..events import NewEvent, new_id
from .client import Client, default_client


def _ids(base: str) -> Callable[[], str]:
    counter = iter(range(1_000_000))
    return lambda: hashlib.sha256(f"emit:{base}:{next(counter)}".encode()).hexdigest()[:32]


def _artifact(next_id: Callable[[], str], kind: str, spec: Mapping[str, Any] | str) -> tuple[str, NewEvent]:
    item = {"digest": spec} if isinstance(spec, str) else dict(spec)
    payload = {k: item[k] for k in ("digest", "name", "size", "uri", "media_type", "metadata") if k in item}
    payload["kind"] = item.get("kind", kind)
    if "digest" not in payload:
        raise ValidationError("digest", "every artifact in an emitted event needs its digest (sha256:<hex>)")
    return str(payload["digest"]), NewEvent(ev.ARTIFACT_RECORDED, payload, id=next_id())


def _run_start(next_id: Callable[[], str], f: Mapping[str, Any], kind: str) -> list[NewEvent]:
    out = [
        NewEvent(
            ev.RUN_STARTED,
            {
                "run_id": f["run_id"],
                "job": f.get("job", kind),
                "kind": kind,
                "params": dict(f.get("params") or {}),
                "context": dict(f.get("context") or {}),
            },
            id=next_id(),
        )
    ]
    for spec in f.get("inputs") or []:
        digest, record = _artifact(next_id, "dataset", spec)
        out += [record, NewEvent(ev.ARTIFACT_USED, {"run_id": f["run_id"], "digest": digest}, id=next_id())]
    return out


def _run_end(next_id: Callable[[], str], f: Mapping[str, Any], status: str) -> list[NewEvent]:
    out: list[NewEvent] = []
    metrics = f.get("metrics") or {}
    if metrics:
        out.append(
            NewEvent(
                ev.METRICS_LOGGED,
                {
                    "run_id": f["run_id"],
                    "metrics": [
                        {"key": k, "value": v, "step": int(f.get("step", 0))} for k, v in metrics.items()
                    ],
                },
                id=next_id(),
            )
        )
    for spec in f.get("outputs") or []:
        digest, record = _artifact(next_id, "model", spec)
        out += [
            record,
            NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": f["run_id"], "digest": digest}, id=next_id()),
        ]
    payload: dict[str, Any] = {"run_id": f["run_id"], "status": status}
    if f.get("error"):
        payload["error"] = (
            {"type": "Error", "message": str(f["error"])} if isinstance(f["error"], str) else f["error"]
        )
    out.append(NewEvent(ev.RUN_ENDED, payload, id=next_id()))
    return out


def _data_ingested(n: Callable[[], str], f: Mapping[str, Any]) -> list[NewEvent]:
    return [_artifact(n, "dataset", f)[1]]


def _model_exported(n: Callable[[], str], f: Mapping[str, Any]) -> list[NewEvent]:
    digest, record = _artifact(n, "model", f)
    out = [record]
    if f.get("run_id"):
        out.append(NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": f["run_id"], "digest": digest}, id=n()))
    return out


def _derived(n: Callable[[], str], f: Mapping[str, Any]) -> list[NewEvent]:
    return [NewEvent(ev.ARTIFACT_DERIVED, {"parent": f["parent"], "child": f["child"]}, id=n())]


HANDLERS: dict[str, Callable[[Callable[[], str], Mapping[str, Any]], list[NewEvent]]] = {
    "DataIngested": _data_ingested,
    "TrainingStarted": lambda n, f: _run_start(n, f, "train"),
    "TrainingCompleted": lambda n, f: _run_end(n, f, "completed"),
    "TrainingFailed": lambda n, f: _run_end(n, f, "failed"),
    "EvaluationStarted": lambda n, f: _run_start(n, f, "evaluate"),
    "EvaluationCompleted": lambda n, f: _run_end(n, f, "completed"),
    "TransformStarted": lambda n, f: _run_start(n, f, "transform"),
    "TransformCompleted": lambda n, f: _run_end(n, f, "completed"),
    "ModelExported": _model_exported,
    "ArtifactDerived": _derived,
}


# The fields each event cannot do without (the handlers read them directly).
_RUN_EVENT = ("run_id",)
REQUIRED: dict[str, tuple[str, ...]] = {
    "DataIngested": ("digest",),
    "ModelExported": ("digest",),
    "ArtifactDerived": ("parent", "child"),
    **{
        name: _RUN_EVENT
        for name in (
            "TrainingStarted",
            "TrainingCompleted",
            "TrainingFailed",
            "EvaluationStarted",
            "EvaluationCompleted",
            "TransformStarted",
            "TransformCompleted",
        )
    },
}


def to_events(name_or_event: str | Mapping[str, Any], fields: Mapping[str, Any],
              client: Client | None = None) -> list[NewEvent]:
    """The ledger events one emitted event stands for (not yet appended)."""
    if not isinstance(name_or_event, (str, Mapping)):
        raise ValidationError(
            "event",
            f"{name_or_event!r} ({type(name_or_event).__name__}) is not an event",
            'pass an event name ("TrainingStarted", ...) with its fields, or an OpenLineage RunEvent dict',
        )
    if not isinstance(name_or_event, str):
        from ..interop import openlineage as ol

        doc = ol.validate_event(dict(name_or_event))
        state = ol.StoreGraphState((client or default_client()).store)
        return ol.to_core_events(doc, state, f"emit:{ol.event_id(doc)}")
    handler = HANDLERS.get(name_or_event)
    if handler is None:
        raise ValidationError("event", f"unknown event {name_or_event!r}",
                              f"known: {', '.join(sorted(HANDLERS))}, or an OpenLineage RunEvent dict")
    for key in REQUIRED.get(name_or_event, ()):
        if fields.get(key) in (None, ""):
            raise ValidationError(f"{name_or_event}.{key}", "is missing", f"pass {key}=... with the event")
    for key in ("inputs", "outputs"):
        if key in fields and not isinstance(fields[key], (list, tuple)):
            raise ValidationError(f"{name_or_event}.{key}", "must be a list of digests or artifact dicts")
    for key in ("params", "metrics", "context"):
        if fields.get(key) is not None and not isinstance(fields[key], Mapping):
            raise ValidationError(
                f"{name_or_event}.{key}", f"must be a dict, got {type(fields[key]).__name__}"
            )
    return handler(_ids(str(fields.get("event_id") or new_id())), fields)


def emit(name_or_event: str | Mapping[str, Any], *, client: Client | None = None,
         **fields: Any) -> Sequence[NewEvent]:
    """Record one domain event (``"DataIngested"``, ``"TrainingStarted"``, ``"ModelExported"``, ...) or an
    OpenLineage RunEvent dict; returns the ledger events it became."""
    target = client or default_client()
    events = to_events(name_or_event, fields, target)
    if events:
        target.append(events)
    return events
