"""OpenLineage in and out: ingest RunEvent/DatasetEvent/JobEvent documents, export a run as RunEvents."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ... import jsondepth
from ...errors import NotFoundError, PayloadTooLarge, ValidationError
from ...interop import openlineage as ol
from ..deps import Reader, ServerDep, Writer
from ..models import ERRORS, IngestedOut, IngestionLagOut, OpenLineageEventsOut

router = APIRouter(prefix="/api/v1", tags=["openlineage"], responses=ERRORS)


@router.post("/lineage", status_code=201, response_model=IngestedOut, openapi_extra={
    "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}})
async def openlineage_ingest(request: Request, p: Writer, state: ServerDep) -> JSONResponse:
    """Accept an OpenLineage RunEvent/DatasetEvent/JobEvent; projected asynchronously (see /ingestion)."""
    raw = await request.body()
    if request.headers.get("content-encoding", "").lower() == "gzip":  # the OpenLineage client's option
        import zlib

        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = inflater.decompress(raw, state.max_body)
        except zlib.error as exc:
            raise ValidationError("body", f"malformed gzip body: {exc}") from None
        if inflater.unconsumed_tail:
            raise PayloadTooLarge(f"the decompressed body is over the {state.max_body} byte limit")
    doc = jsondepth.loads(raw)  # malformed or nested too deep: 400 now, not a 500 or a failure in /ingestion
    dropped: list[str] = []
    checked = ol.validate_event(doc, dropped_facets=dropped)
    if dropped:  # the event is kept without the facets that break their schema (Marquez accepts them)
        doc = checked
    import anyio.to_thread

    event_id, new = await anyio.to_thread.run_sync(state.inbox.accept, doc, p)
    answer: dict[str, Any] = {"event_id": event_id, "status": "accepted" if new else "duplicate"}
    if dropped:
        answer["dropped_facets"] = dropped
    return JSONResponse(answer, status_code=201 if new else 200)


@router.get("/ingestion", response_model=IngestionLagOut)
def ingestion(p: Reader, state: ServerDep) -> dict[str, Any]:
    """Ingestion lag of the asynchronous projection."""
    return state.inbox.lag(None if p.sees_all else p.namespace)


@router.get("/runs/{run_id}/openlineage", response_model=OpenLineageEventsOut)
def run_openlineage(run_id: str, p: Reader, state: ServerDep) -> dict[str, Any]:
    """The run as OpenLineage RunEvents (START and, if ended, its terminal event)."""
    c = state.view(p)
    run = c.store.get_run(run_id)
    if run is None:
        raise NotFoundError(f"run {run_id} is not recorded")
    inputs, outputs = c.store.io_of_run(run_id)
    return {"events": ol.run_to_events(run, [a for a, _ in inputs], [a for a, _ in outputs])}
