"""What the Client's serving-trace methods do: turn calls into checked traces, resolve their refs, append
them as ``ServingTraces`` events through the pipeline, and read the projection back.

The recorder's background thread (``recorder.py``) and the server's ``/api/v1/serving/traces`` endpoint
both end in ``record_traces``, so a trace sent over HTTP by a non-Python service is the same record as one
from ``mlineage.trace_request``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError, ValidationError
from ..events import NewEvent, new_id, utc_now
from . import otel
from .events import MAX_TRACES_PER_EVENT, SERVING_TRACES
from .model import check_size, check_trace, split_batches
from .records import records_for

if TYPE_CHECKING:
    from ..pipeline import Prepared
    from ..sdk.client import Client
    from .resolve import Resolver

MAX_EVENT_TRACES = 1000
MAX_EVENT_BYTES = 512 * 1024
"""One event's share of a batch: small enough that a spool batch of them stays under a server's body limit."""
RESOLVED_BYTES = 200

_FIELDS = (
    "trace_id",
    "ts",
    "endpoint",
    "model",
    "index",
    "prompt",
    "inputs_digest",
    "model_digest",
    "index_digest",
    "prompt_digest",
    "model_name",
    "model_version",
)


def normalise(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A trace as a caller gives it (the fields of ``model.py``, plus ``attributes``: OTel span attributes,
    and any other key as a fact) in its checked form; a missing ``trace_id`` or ``ts`` is made here."""
    return normalise_sized(raw)[0]


def normalise_sized(raw: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """``normalise``, and the trace's size in bytes (what ``to_events`` cuts batches by)."""
    trace: dict[str, Any] = {k: raw[k] for k in _FIELDS if raw.get(k) is not None}
    if "trace_id" not in trace:  # not setdefault: it would make an id and read the clock for every trace
        trace["trace_id"] = new_id()
    if "ts" not in trace:
        trace["ts"] = utc_now()
    facts: dict[str, Any] = dict(raw.get("facts") or {})
    attributes: dict[str, Any] = dict(raw.get("attributes") or {})
    for key, value in raw.items():
        if key in _FIELDS or key in ("facts", "attributes", "retrieved"):
            continue
        (attributes if otel.is_attribute(key) else facts)[key] = value
    retrieved = list(raw.get("retrieved") or ())
    if attributes:
        retrieved.extend(otel.retrieved(attributes))
        for key, value in otel.facts(attributes).items():
            facts.setdefault(key, value)
        if not trace.get("index"):
            ref = otel.index_ref(attributes)
            if ref:
                trace["index"] = ref
    if retrieved:
        trace["retrieved"] = retrieved
    if facts:
        trace["facts"] = facts
    checked = check_trace(trace)
    return checked, check_size(checked)


def to_events(
    traces: Sequence[dict[str, Any]],
    *,
    dropped: int = 0,
    sampled_out: int = 0,
    sample_rate: float | None = None,
    sizes: Sequence[int] | None = None,
) -> list[NewEvent]:
    """Checked traces as ``ServingTraces`` events (the loss counts ride on the first). ``sizes``: each
    trace's size as ``normalise_sized`` measured it (resolved digests add at most ``RESOLVED_BYTES``)."""
    events: list[NewEvent] = []
    if sizes is not None:
        sizes = [n + RESOLVED_BYTES for n in sizes]
    batches = split_batches(traces, MAX_EVENT_TRACES, MAX_EVENT_BYTES, sizes)
    if not batches and (dropped or sampled_out):
        batches = [[]]  # losses alone, so they are in the ledger too
    for batch in batches:
        payload: dict[str, Any] = {"traces": batch}
        if not events:
            if dropped:
                payload["dropped"] = dropped
            if sampled_out:
                payload["sampled_out"] = sampled_out
            if sample_rate is not None and sample_rate < 1:
                payload["sample_rate"] = sample_rate
        events.append(NewEvent(SERVING_TRACES, payload))
    return events


def sealable(events: Sequence[NewEvent], actor: str | None = None) -> Prepared:
    """``ServingTraces`` events that ``to_events`` made from traces ``normalise`` checked, as a batch the
    append pipeline seals without validating it again: each trace went through the spec's own per-trace
    check (``check_trace``) once already, which is most of an ingest's cost. What the spec checks per event
    (at most ``MAX_TRACES_PER_EVENT`` traces, no trace id twice in one event) is checked here, with the same
    errors. ``actor``: the writer (default: this process's user, as ``pipeline.prepare`` stamps it)."""
    from ..capture.redact import redact_payload
    from ..pipeline import Prepared, default_actor, prepare

    out = Prepared()
    stamp = actor
    for e in events:
        traces = e.payload.get("traces")
        if e.type != SERVING_TRACES or not isinstance(traces, list) or len(traces) > MAX_TRACES_PER_EVENT:
            return prepare(events)  # not what to_events makes: the full check decides
        seen: set[str] = set()
        for i, t in enumerate(traces):
            if t["trace_id"] in seen:
                raise ValidationError(
                    f"{SERVING_TRACES}.traces[{i}].trace_id", f"{t['trace_id']!r} is in the batch twice"
                )
            seen.add(t["trace_id"])
        who = e.actor or stamp
        if who is None:
            who = stamp = default_actor()
        out.append(NewEvent(e.type, redact_payload(e.type, e.payload), e.id, e.ts, who, e.v))
    return out


def prepare(
    client: Client, raw: Iterable[Mapping[str, Any]], resolver: Resolver | None = None
) -> tuple[list[dict[str, Any]], list[NewEvent]]:
    """Traces given as dicts, checked and resolved, and the events that record them (not yet appended)."""
    from .resolve import Resolver

    traces, sizes = [], []
    for i, item in enumerate(raw):
        try:
            trace, size = normalise_sized(item)
        except ValidationError as exc:
            raise ValidationError(f"traces[{i}].{exc.field}", exc.problem, exc.fix) from None
        traces.append(trace)
        sizes.append(size)
    if not traces:
        raise ValidationError("traces", "no traces given")
    resolver = resolver or Resolver(client)
    for t in traces:
        resolver.fill(t)
    return traces, to_events(traces, sizes=sizes)


def record_traces(
    client: Client, raw: Iterable[Mapping[str, Any]], *, resolver: Resolver | None = None
) -> dict[str, Any]:
    """Check, resolve and append traces given as dicts; all of them or none (a bad one is named)."""
    traces, events = prepare(client, raw, resolver)
    client.append(sealable(events))
    return {"recorded": len(traces), "events": len(events), "trace_ids": [t["trace_id"] for t in traces]}


def _as_of(as_of: str | int | None) -> str | int | None:
    return int(as_of) if isinstance(as_of, str) and as_of.strip().isdigit() else as_of


def _remote(client: Client, method: str, path: str, **kwargs: Any) -> Any:
    request = getattr(client.store, "request", None)
    if request is None:
        return None
    flush = getattr(client.store, "flush", None)
    if flush is not None:
        flush(quiet=True)  # read what this client wrote
    return request(method, path, **kwargs)


def list_traces(
    client: Client,
    *,
    endpoint: str | None = None,
    model: str | None = None,
    as_of: str | int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The newest traces first, of one endpoint and/or model (``chat``, ``chat@3``, a ref or a digest)."""
    if limit < 1 or limit > 10_000:
        raise ValidationError("limit", "must be between 1 and 10000")
    params = {
        k: v
        for k, v in (("endpoint", endpoint), ("model", model), ("as_of", as_of), ("limit", limit))
        if v is not None
    }
    remote = _remote(client, "GET", "/serving/traces", params=params)
    if remote is not None:
        return list(remote["traces"])
    return records_for(client.store).traces(endpoint, model, client.as_of_seq(_as_of(as_of)), limit)


def summary(
    client: Client, *, endpoint: str | None = None, model: str | None = None, as_of: str | int | None = None
) -> dict[str, Any]:
    """Per endpoint and model version: traces, errors, mean latency, tokens, cost; and the traces lost."""
    params = {k: v for k, v in (("endpoint", endpoint), ("model", model), ("as_of", as_of)) if v is not None}
    remote = _remote(client, "GET", "/serving/summary", params=params)
    if remote is not None:
        return dict(remote)
    return records_for(client.store).summary(endpoint, model, client.as_of_seq(_as_of(as_of)))


def get_trace(client: Client, trace_id: str) -> dict[str, Any]:
    found = records_for(client.store).trace(trace_id)
    if found is None:
        raise NotFoundError(
            f"no serving trace {trace_id!r} (traces are written in batches: a trace recorded "
            "a moment ago may not be written yet; `mlineage traces` lists the recorded ones)"
        )
    return found
