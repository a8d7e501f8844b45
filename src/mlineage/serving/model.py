"""What a serving trace is: one request answered by a model version (and a retrieval-index version and a
prompt version), with the facts an LLM application logs. Pure: no I/O.

A trace on the wire (the ``ServingTraces`` payload, the HTTP endpoint's body) is a flat object; keys whose
value is unknown are left out, so a payload holding thousands of traces stays small::

    {"trace_id": "4bf92f3577b34da6", "ts": "2026-12-07T12:00:00.000000Z", "endpoint": "support-bot",
     "model": "chat@production", "model_name": "chat", "model_version": 3, "model_digest": "sha256:...",
     "index": "docs-index@2", "index_digest": "sha256:...", "prompt": "answer-prompt@4",
     "inputs_digest": "sha256:...",
     "retrieved": [["chunk-17", "sha256:<content>", "doc-42", 0.91], ...],
     "facts": {"latency_ms": 412.5, "input_tokens": 812, "output_tokens": 96, "cost": 0.0021,
               "guardrail": "pass", "tool_spans": [{"name": "search", "latency_ms": 35.0}]}}

``retrieved`` rows are ``[chunk_id, content_hash, document_id, score]`` (each but the id may be null): the
chunk ids and content hashes the retriever returned, and the source document ids where the caller knows them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ValidationError
from ..eventtime import parse_event_time

MAX_TRACE_BYTES = 16 * 1024
"""A trace's canonical size limit: a trace is a record of what answered, not the prompt or the answer."""
MAX_RETRIEVED = 256
MAX_FACT_KEYS = 64
MAX_TEXT = 1000
MAX_ID = 128
MAX_REF = 300

NUMBER_FACTS = ("latency_ms", "cost")
COUNT_FACTS = ("input_tokens", "output_tokens", "total_tokens")
TEXT_FACTS = ("guardrail", "status", "error")
_TYPED = (*NUMBER_FACTS, *COUNT_FACTS)
"""The facts every trace may carry and the projection keeps in columns; others are kept as given."""


def _text(value: Any, field: str, limit: int = MAX_TEXT, *, optional: bool = True) -> str | None:
    if type(value) is str and 0 < len(value) <= limit:
        return value
    if value is None and optional:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise ValidationError(field, f"must be a non-empty string of at most {limit} characters")
    return value


def _number(value: Any, field: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValidationError(field, "must be a finite number")
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _count(value: Any, field: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value >= 2**53:
        raise ValidationError(field, "must be a whole number >= 0")
    return value


_SHA256 = re.compile(r"sha256:[0-9a-f]{64}")
_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def _digest(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if type(value) is str and _SHA256.fullmatch(value):  # the usual form, without building a Digest
        return value
    from ..model import Digest

    if not isinstance(value, str) or ":" not in value or len(value) > 200:
        raise ValidationError(field, "must be a digest (sha256:<hex>)")
    return str(Digest.parse(value))


def _scalar(value: Any, field: str) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return _number(value, field)
    return _text(value, field)


def _tool_spans(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, (list, tuple)) or len(value) > 64:
        raise ValidationError("facts.tool_spans", "must be a list of at most 64 spans")
    out = []
    for i, span in enumerate(value):
        if isinstance(span, str):
            span = {"name": span}
        if not isinstance(span, Mapping):
            raise ValidationError(f"facts.tool_spans[{i}]", "must be a span name or an object with a name")
        where = f"facts.tool_spans[{i}]"
        item: dict[str, Any] = {"name": _text(span.get("name"), f"{where}.name", 200, optional=False)}
        for key, val in span.items():
            if key != "name" and val is not None:
                name = _text(key, f"facts.tool_spans[{i}]", 64, optional=False)
                item[str(name)] = _scalar(val, f"facts.tool_spans[{i}].{key}")
        out.append(item)
    return out


def check_facts(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The per-trace facts, normalised: the known ones typed, others kept when they are scalars."""
    if not isinstance(facts, Mapping):
        raise ValidationError("facts", "must be an object")
    if len(facts) > MAX_FACT_KEYS:
        raise ValidationError("facts", f"at most {MAX_FACT_KEYS} facts per trace")
    out: dict[str, Any] = {}
    for key, value in facts.items():
        if value is None:
            continue
        kind = type(value)
        if (
            type(key) is str
            and 0 < len(key) <= 64
            and key != "tool_spans"
            and (
                (
                    kind is str
                    and 0 < len(value) <= MAX_TEXT
                    and key not in NUMBER_FACTS
                    and key not in COUNT_FACTS
                )
                or (kind is int and 0 <= value < 2**53)
                or kind is bool
                and key not in _TYPED
                or (
                    kind is float
                    and math.isfinite(value)
                    and not value.is_integer()
                    and key not in COUNT_FACTS
                )
            )
        ):
            out[key] = value  # the common cases, as the checks below would leave them
            continue
        name = _text(key, "facts", 64, optional=False)
        assert name is not None
        if name in NUMBER_FACTS:
            out[name] = _number(value, f"facts.{name}")
        elif name in COUNT_FACTS:
            out[name] = _count(value, f"facts.{name}")
        elif name == "tool_spans":
            out[name] = _tool_spans(value)
        else:
            out[name] = _scalar(value, f"facts.{name}")
    return out


def check_retrieved(rows: Any) -> list[list[Any]]:
    """``[[chunk_id, content_hash, document_id, score], ...]`` (also accepted: dicts with those keys, or
    bare chunk ids)."""
    if not isinstance(rows, (list, tuple)) or len(rows) > MAX_RETRIEVED:
        raise ValidationError("retrieved", f"must be a list of at most {MAX_RETRIEVED} chunks")
    out = []
    for i, row in enumerate(rows):
        if type(row) is list and len(row) == 4:  # the normal form: checked without a call per field
            chunk, content, doc, score = row
            if (
                type(chunk) is str
                and 0 < len(chunk) <= 512
                and (content is None or (type(content) is str and _SHA256.fullmatch(content)))
                and (doc is None or (type(doc) is str and 0 < len(doc) <= 512))
                and (score is None or (type(score) is float and math.isfinite(score)))
            ):
                out.append(row)
                continue
        if isinstance(row, (str, int)) and not isinstance(row, bool):
            row = [row]
        elif isinstance(row, Mapping):
            row = [
                row.get("chunk_id", row.get("id")),
                row.get("content_hash"),
                row.get("document_id"),
                row.get("score"),
            ]
        if not isinstance(row, (list, tuple)) or not 1 <= len(row) <= 4:
            raise ValidationError(f"retrieved[{i}]", "must be [chunk_id, content_hash, document_id, score]")
        row = [*row, None, None, None][:4]
        score = row[3]
        out.append(
            [
                _text(row[0], f"retrieved[{i}].chunk_id", 512, optional=False),
                _digest(row[1], f"retrieved[{i}].content_hash"),
                _text(row[2], f"retrieved[{i}].document_id", 512),
                None if score is None else _number(score, f"retrieved[{i}].score"),
            ]
        )
    return out


_REFS = ("model", "index", "prompt")
_REF_DIGESTS = tuple((ref, f"{ref}_digest") for ref in _REFS)
_KNOWN = frozenset(
    {
        "trace_id",
        "ts",
        "endpoint",
        "retrieved",
        "facts",
        "model_name",
        "model_version",
        "inputs_digest",
        *_REFS,
        *(d for _, d in _REF_DIGESTS),
    }
)


def check_trace(trace: Mapping[str, Any]) -> dict[str, Any]:
    """A trace in its normal form (see the module docstring), or ``ValidationError`` naming the field."""
    if not isinstance(trace, Mapping):
        raise ValidationError("trace", "must be an object")
    out: dict[str, Any] = {"trace_id": _text(trace.get("trace_id"), "trace_id", MAX_ID, optional=False)}
    ts = trace.get("ts")
    if type(ts) is not str or not _TS.fullmatch(ts):
        parse_event_time(ts, "ts")
    out["ts"] = ts
    endpoint = _text(trace.get("endpoint"), "endpoint", 128)
    if endpoint is not None:
        out["endpoint"] = endpoint
    for ref, key in _REF_DIGESTS:
        value = trace.get(ref)
        if value is not None:
            out[ref] = _text(value, ref, MAX_REF)
        value = trace.get(key)
        if value is not None:
            out[key] = _digest(value, key)
    name = _text(trace.get("model_name"), "model_name", 128)
    if name is not None:
        out["model_name"] = name
    version = trace.get("model_version")
    if version is not None:
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValidationError("model_version", "must be a registry version number (1, 2, ...)")
        out["model_version"] = version
    inputs = _digest(trace.get("inputs_digest"), "inputs_digest")
    if inputs is not None:
        out["inputs_digest"] = inputs
    retrieved = trace.get("retrieved")
    if retrieved:
        out["retrieved"] = check_retrieved(retrieved)
    facts = trace.get("facts")
    if facts:
        checked = check_facts(facts)
        if checked:
            out["facts"] = checked
    unknown = trace.keys() - _KNOWN
    if unknown:
        raise ValidationError(
            "trace",
            f"unknown field(s) {', '.join(sorted(map(str, unknown)))}",
            "put per-trace facts under 'facts'",
        )
    return out


def check_size(trace: Mapping[str, Any]) -> int:
    """A trace's size in bytes of compact JSON, or ``ValidationError`` past ``MAX_TRACE_BYTES`` (checked
    where traces come in; the event validator bounds each field instead)."""
    size = len(json.dumps(trace, separators=(",", ":")))
    if size > MAX_TRACE_BYTES:
        raise ValidationError(
            "trace",
            f"is larger than {MAX_TRACE_BYTES} bytes",
            "record digests and ids, not prompts, answers or documents",
        )
    return size


def check_traces(traces: Any) -> list[dict[str, Any]]:
    if not isinstance(traces, (list, tuple)) or not traces:
        raise ValidationError("traces", "must be a non-empty list of traces")
    out = []
    seen: set[str] = set()
    for i, t in enumerate(traces):
        try:
            checked = check_trace(t)
        except ValidationError as exc:
            raise ValidationError(f"traces[{i}].{exc.field}", exc.problem, exc.fix) from None
        if checked["trace_id"] in seen:
            raise ValidationError(f"traces[{i}].trace_id", f"{checked['trace_id']!r} is in the batch twice")
        seen.add(checked["trace_id"])
        out.append(checked)
    return out


def model_label(row: Mapping[str, Any]) -> str:
    """``chat@3`` when the registry version is known, else the ref, else the short digest, else ``-``."""
    if row.get("model_name") and row.get("model_version"):
        return f"{row['model_name']}@{row['model_version']}"
    if row.get("model"):
        return str(row["model"])
    digest = row.get("model_digest")
    return str(digest)[:19] if digest else "-"


def split_batches(
    traces: Sequence[dict[str, Any]], max_traces: int, max_bytes: int, sizes: Sequence[int] | None = None
) -> list[list[dict[str, Any]]]:
    """Traces cut into payloads of at most ``max_traces`` traces and about ``max_bytes`` bytes each, so one
    event stays well under a server's body limit (``sizes``: each trace's size when already measured)."""
    out: list[list[dict[str, Any]]] = []
    size = 0
    for i, t in enumerate(traces):
        n = sizes[i] if sizes is not None else len(json.dumps(t, separators=(",", ":")))
        if not out or len(out[-1]) >= max_traces or size + n > max_bytes:
            out.append([])
            size = 0
        out[-1].append(t)
        size += n
    return out
