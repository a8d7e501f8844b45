"""Typed, versioned ledger events and their payload validation (pure: no I/O).

Every write to mlineage is one of these events. Validation here is total: an event that passes is one the
projections can apply, apart from checks that need the current graph (unknown run, cycles), which the store
makes inside the same transaction so that a failing event is rejected whole.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .erasure import PAYLOAD_ERASED, validate_erasure
from .errors import ValidationError
from .eventtime import parse_event_time
from .jsonvalues import check_json_value, check_metric, check_params, float_paths
from .model import ArtifactKind, Digest, RunKind, RunStatus, enum_value

SCHEMA_VERSION = 1

ARTIFACT_RECORDED = "ArtifactRecorded"
RUN_STARTED = "RunStarted"
ARTIFACT_USED = "ArtifactUsed"
ARTIFACT_PRODUCED = "ArtifactProduced"
ARTIFACT_DERIVED = "ArtifactDerived"
PARAMS_LOGGED = "ParamsLogged"
METRICS_LOGGED = "MetricsLogged"
RUN_ENDED = "RunEnded"


def utc_now() -> str:
    """``2026-11-25T15:00:00.123456Z`` (isoformat is about twice as fast as strftime; called per metric)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def utc_from_ns(ns: int) -> str:
    """``time.time_ns()`` as ``utc_now`` would have written it then (microseconds, truncated as datetime does).

    Metrics are stamped with the bare integer when logged and formatted when written: inside a training loop,
    between tensor operations that push the interpreter out of the CPU caches, ``utc_now`` cost ~15 us a call
    here against ~1 us for ``time.time_ns()``."""
    seconds, rest = divmod(ns, 1_000_000_000)
    return f"{_utc_second(seconds)}.{rest // 1000:06d}Z"


@functools.lru_cache(maxsize=16)
def _utc_second(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()[:19]


def new_id() -> str:
    """A random (version 4) UUID as 32 hex digits, the same as ``uuid.uuid4().hex``, without importing uuid
    (which loads platform: a noticeable share of a short CLI command's start-up)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    return raw.hex()


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event not yet in the ledger: the writer fills in seq and the chain hashes."""

    type: str
    payload: dict[str, Any]
    id: str = field(default_factory=new_id)
    ts: str = field(default_factory=utc_now)
    actor: str | None = None
    v: int = SCHEMA_VERSION


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    id: str
    type: str
    v: int
    ts: str
    actor: str | None
    payload: dict[str, Any] | None  # None once redacted
    payload_sha256: str
    prev_hash: str
    hash: str


# ---------------------------------------------------------------- field checkers


def _str(p: Mapping[str, Any], key: str, *, required: bool = True, max_len: int = 1000) -> str | None:
    value = p.get(key)
    if value is None:
        if required:
            raise ValidationError(key, "is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(key, f"must be a non-empty string, got {value!r}")
    if len(value) > max_len:
        raise ValidationError(key, f"is longer than {max_len} characters")
    return value


def _digest(p: Mapping[str, Any], key: str) -> str:
    value = _str(p, key)
    assert value is not None
    return str(Digest.parse(value))


def _run_id(p: Mapping[str, Any]) -> str:
    value = _str(p, "run_id", max_len=128)
    assert value is not None
    return value


def _opt_int(p: Mapping[str, Any], key: str, minimum: int = 0) -> int | None:
    value = p.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValidationError(key, f"must be an integer >= {minimum}, got {value!r}")
    return value


def _dict(p: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = p.get(key) or {}
    if not isinstance(value, dict):
        raise ValidationError(key, f"expected an object, got {type(value).__name__}")
    check_json_value(value, key)
    return dict(value)


# ---------------------------------------------------------------- per-type validators


def _artifact_recorded(p: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "digest": _digest(p, "digest"),
        "kind": enum_value(ArtifactKind, str(p.get("kind", "file")), "kind").value,
    }
    for key in ("name", "media_type", "uri"):
        value = _str(p, key, required=False)
        if value is not None:
            out[key] = value
    for key, minimum in (("size", 0), ("version", 1)):
        number = _opt_int(p, key, minimum)
        if number is not None:
            out[key] = number
    if "version" in out and "name" not in out:
        raise ValidationError("version", "given without a name", "pass name= too")
    metadata = _dict(p, "metadata")
    if metadata:
        out["metadata"] = metadata
    return out


def _run_started(p: Mapping[str, Any]) -> dict[str, Any]:
    out = {
        "run_id": _run_id(p),
        "job": _str(p, "job", max_len=200),
        "kind": enum_value(RunKind, str(p.get("kind", "other")), "kind").value,
        "params": check_params(p.get("params") or {}),
        "context": _dict(p, "context"),
        "agent": _str(p, "agent", required=False),
        "started_at": _str(p, "started_at", required=False) or utc_now(),
    }
    return _with_float_params(out, p)


def _with_float_params(out: dict[str, Any], p: Mapping[str, Any]) -> dict[str, Any]:
    """Record which params are integral floats, which canonical JSON writes as integers (see jsonvalues)."""
    floats = float_paths(out["params"], p.get("float_params"), "float_params")
    if floats:
        out["float_params"] = floats
    return out


def _edge_with_run(p: Mapping[str, Any]) -> dict[str, Any]:
    out = {"run_id": _run_id(p), "digest": _digest(p, "digest")}
    role = _str(p, "role", required=False, max_len=200)
    if role is not None:
        out["role"] = role
    return out


def _artifact_derived(p: Mapping[str, Any]) -> dict[str, Any]:
    out = {"parent": _digest(p, "parent"), "child": _digest(p, "child")}
    if out["parent"] == out["child"]:
        raise ValidationError("parent", "an artifact cannot derive from itself")
    role = _str(p, "role", required=False, max_len=200)
    if role is not None:
        out["role"] = role
    return out


def _params_logged(p: Mapping[str, Any]) -> dict[str, Any]:
    return _with_float_params({"run_id": _run_id(p), "params": check_params(p.get("params"))}, p)


def _metrics_logged(p: Mapping[str, Any]) -> dict[str, Any]:
    raw = p.get("metrics")
    if not isinstance(raw, list) or not raw:
        raise ValidationError("metrics", "must be a non-empty list of {key, value, step, ts}")
    metrics = []
    for i, m in enumerate(raw):
        # What the SDK writes (a float, an int step, a timestamp) is checked inline: a training run sends
        # thousands of these, and the general checks below cost a few function calls per field. Such a dict
        # has exactly the four keys and nothing to normalise, so it is kept as it is rather than copied.
        if (type(m) is dict and len(m) == 4 and type(key := m.get("key")) is str and key
                and type(value := m.get("value")) is float and value - value == 0.0
                and type(step := m.get("step")) is int and step >= 0
                and type(ts := m.get("ts")) is str and 0 < len(ts) <= 1000 and not ts.isspace()):
            metrics.append(m)
            continue
        if not isinstance(m, dict):
            raise ValidationError(f"metrics[{i}]", "must be an object")
        step = _opt_int(m, "step") or 0
        metrics.append(
            {
                "key": m.get("key"),
                "value": check_metric(m.get("key"), m.get("value")),
                "step": step,
                "ts": _str(m, "ts", required=False) or utc_now(),
            }
        )
    return {"run_id": _run_id(p), "metrics": metrics}


def _run_ended(p: Mapping[str, Any]) -> dict[str, Any]:
    status = enum_value(RunStatus, str(p.get("status")), "status")
    if not status.finished:
        raise ValidationError("status", "a run cannot end as 'running'")
    out: dict[str, Any] = {
        "run_id": _run_id(p),
        "status": status.value,
        "ended_at": _str(p, "ended_at", required=False) or utc_now(),
    }
    error = p.get("error")
    if error is not None:
        if not isinstance(error, dict) or not isinstance(error.get("type"), str):
            raise ValidationError("error", "must be an object with 'type' and 'message' strings")
        out["error"] = {"type": error["type"], "message": str(error.get("message", ""))}
    return out


VALIDATORS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    PAYLOAD_ERASED: validate_erasure,
    ARTIFACT_RECORDED: _artifact_recorded,
    RUN_STARTED: _run_started,
    ARTIFACT_USED: _edge_with_run,
    ARTIFACT_PRODUCED: _edge_with_run,
    ARTIFACT_DERIVED: _artifact_derived,
    PARAMS_LOGGED: _params_logged,
    METRICS_LOGGED: _metrics_logged,
    RUN_ENDED: _run_ended,
}


def validate(event: NewEvent) -> NewEvent:
    """Return the event with a normalised payload, or raise ValidationError naming the field."""
    validator = VALIDATORS.get(event.type)
    if validator is None:
        known = ", ".join(sorted(VALIDATORS))
        raise ValidationError("type", f"unknown event type {event.type!r}", f"known types: {known}")
    if event.v != SCHEMA_VERSION:
        raise ValidationError("v", f"unsupported event schema version {event.v}", f"use {SCHEMA_VERSION}")
    if not isinstance(event.payload, dict):
        raise ValidationError("payload", "must be an object")
    parse_event_time(event.ts)  # the writer's claim must name one moment (see eventtime.py)
    try:
        payload = validator(event.payload)
    except ValidationError as exc:
        raise ValidationError(f"{event.type}.{exc.field}", exc.problem, exc.fix) from None
    return NewEvent(type=event.type, payload=payload, id=event.id, ts=event.ts, actor=event.actor, v=event.v)
