"""Serving traces over HTTP: a non-Python service records traces here, and a remote Client lists them,
summarises them and explains an answer (``serving/service.py``, ``serving/explain.py``) as an embedded one
does. Recording goes through the append pipeline like ``/api/v1/events`` (the writer's namespace is checked
and its actor tagged); refs are resolved by the caller's namespace view of the Client."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ...serving import service
from ...serving.explain import explain_answer
from ...serving.resolve import Resolver
from ..answers import answer
from ..deps import Reader, ServerDep, Writer
from ..models import ERRORS, _Open
from ..namespaces import tag_actor
from .events import append_prepared

router = APIRouter(prefix="/api/v1/serving", tags=["serving"], responses=ERRORS)

_resolvers: dict[int, Resolver] = {}


class TracesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    traces: list[dict[str, Any]] = Field(min_length=1, max_length=5000)


class RecordedOut(BaseModel):
    recorded: int
    duplicates: int
    events: int
    trace_ids: list[str]


class TracesOut(BaseModel):
    traces: list[dict[str, Any]]


class SummaryOut(_Open):
    rows: list[dict[str, Any]]
    dropped: int
    sampled_out: int


class ExplainIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trace_id: Annotated[str, Field(min_length=1, max_length=128)]


class ExplainOut(_Open):
    trace: dict[str, Any]
    model: dict[str, Any]
    prompt: dict[str, Any]
    index: dict[str, Any]
    chunks: list[dict[str, Any]]
    licences: dict[str, str]
    gaps: list[str]


@router.post("/traces", response_model=RecordedOut)
def record(body: TracesIn, p: Writer, state: ServerDep) -> dict[str, Any]:
    """Record serving traces (the fields of ``mlineage.trace_request``, with ``attributes`` for OpenTelemetry
    span attributes): all of them or none. A trace id already recorded is skipped by the projection."""
    view = state.view(p)
    resolver = _resolvers.get(id(view))
    if resolver is None or resolver.client is not view:
        if len(_resolvers) > 1000:
            _resolvers.clear()
        resolver = _resolvers[id(view)] = Resolver(view)
    traces, events = service.prepare(view, body.traces, resolver)
    # checked once, here (``service.sealable``): the events are the server's own, built from checked traces
    done = append_prepared(state, service.sealable(events, tag_actor(None, p)), p)
    return {
        "recorded": len(traces),
        "duplicates": done["duplicates"],
        "events": len(events),
        "trace_ids": [t["trace_id"] for t in traces],
    }


@router.get("/traces", response_model=TracesOut)
def traces(
    p: Reader,
    state: ServerDep,
    endpoint: Annotated[str | None, Query(max_length=128)] = None,
    model: Annotated[str | None, Query(max_length=300)] = None,
    as_of: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 50,
) -> dict[str, Any]:
    """``mlineage traces --json``: recorded traces, newest first."""
    return {
        "traces": service.list_traces(state.view(p), endpoint=endpoint, model=model, as_of=as_of, limit=limit)
    }


@router.get("/summary", response_model=SummaryOut)
def summary(
    p: Reader,
    state: ServerDep,
    endpoint: Annotated[str | None, Query(max_length=128)] = None,
    model: Annotated[str | None, Query(max_length=300)] = None,
    as_of: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """``mlineage traces --summary --json``: per endpoint and model version, and the traces lost."""
    return service.summary(state.view(p), endpoint=endpoint, model=model, as_of=as_of)


@router.post("/explain", responses={200: {"model": ExplainOut, "description": "the walk"}})
def explain(body: ExplainIn, request: Request, p: Reader, state: ServerDep) -> Any:
    """``mlineage explain-answer --json``: from an answer to its source documents and licences."""
    return answer(
        request,
        state,
        p,
        "serving/explain",
        body.model_dump_json(),
        lambda c: explain_answer(c, body.trace_id),
    )
