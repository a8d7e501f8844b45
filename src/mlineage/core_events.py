"""The built-in event types, each declared once: its payload validator and its ``EventSpec``.

``catalogue.py`` imports this module, so the specs are registered whenever the catalogue is loaded. A feature
declares its own event types in its own module the same way (see the catalogue's docstring).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .catalogue import EventSpec, register_event
from .erasure import PAYLOAD_ERASED, validate_erasure
from .errors import ValidationError
from .events import (
    ARTIFACT_DERIVED,
    ARTIFACT_PRODUCED,
    ARTIFACT_RECORDED,
    ARTIFACT_USED,
    METRICS_LOGGED,
    PARAMS_LOGGED,
    RUN_ENDED,
    RUN_STARTED,
    TOKEN_CREATED,
    TOKEN_REVOKED,
    utc_now,
)
from .jsonvalues import check_json_value, check_metric, check_params, float_paths
from .metrics_json import metrics_payload_json
from .model import ArtifactKind, Digest, RunKind, RunStatus, enum_value

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


_SCOPES = ("read", "write", "admin")


def _token_created(p: Mapping[str, Any]) -> dict[str, Any]:
    """A token's id, name, scopes and namespace: never its secret (nor the secret's hash)."""
    scopes = p.get("scopes")
    if not isinstance(scopes, list) or not scopes or not all(s in _SCOPES for s in scopes):
        raise ValidationError("scopes", "must be a non-empty list of read, write, admin")
    return {"token_id": _str(p, "token_id", max_len=32), "name": _str(p, "name", max_len=200),
            "scopes": sorted(set(scopes)), "namespace": _str(p, "namespace", max_len=200)}


def _token_revoked(p: Mapping[str, Any]) -> dict[str, Any]:
    return {"token_id": _str(p, "token_id", max_len=32)}


# ---------------------------------------------------------------- the keys each event creates and links to


def _creates_run(p: dict[str, Any]) -> tuple[str, ...]:
    return (p["run_id"],)


def _creates_artifact(p: dict[str, Any]) -> tuple[str, ...]:
    return (p["digest"],)


def _run_ref(p: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return (("run", str(p.get("run_id"))),)


def _edge_refs(p: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return ("run", str(p.get("run_id"))), ("artifact", str(p.get("digest")))


def _derived_refs(p: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return ("artifact", str(p.get("parent"))), ("artifact", str(p.get("child")))


# ---------------------------------------------------------------- the specs

for _spec in (
    EventSpec(ARTIFACT_RECORDED, _artifact_recorded, creates=_creates_artifact, projections=("artifacts",)),
    EventSpec(RUN_STARTED, _run_started, redact=("params", "context"), creates=_creates_run,
              projections=("runs",)),
    EventSpec(ARTIFACT_USED, _edge_with_run, references=_edge_refs, projections=("graph",)),
    EventSpec(ARTIFACT_PRODUCED, _edge_with_run, references=_edge_refs, projections=("graph",)),
    EventSpec(ARTIFACT_DERIVED, _artifact_derived, references=_derived_refs, projections=("graph",)),
    EventSpec(PARAMS_LOGGED, _params_logged, redact=("params",), references=_run_ref, projections=("runs",)),
    EventSpec(METRICS_LOGGED, _metrics_logged, references=_run_ref, projections=("metrics", "runs"),
              canonical=metrics_payload_json),
    EventSpec(RUN_ENDED, _run_ended, redact=("error",), references=_run_ref, projections=("runs",)),
    # Admin actions: recorded for the audit trail (who was given access to which namespace, and when it
    # ended); the server's token table is state of its own, not a projection of these.
    EventSpec(TOKEN_CREATED, _token_created, redact=("name",)),
    EventSpec(TOKEN_REVOKED, _token_revoked),
    # The only way a payload may leave the ledger (erasure.py): projected nowhere but checked on append.
    EventSpec(PAYLOAD_ERASED, validate_erasure, projections=("erasures",)),
):
    register_event(_spec)
