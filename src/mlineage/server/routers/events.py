"""The ledger over HTTP: append events (one, or a batch atomically), read them, head, verify, rebuild."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from ... import pipeline
from ...erasure import PAYLOAD_ERASED
from ...events import NewEvent, new_id, utc_now
from ...eventtime import check_claimed_time
from ...jsondepth import check_depth
from ..auth import ForbiddenError, Principal
from ..deps import Admin, Reader, ServerDep, ServerState, Writer
from ..models import (
    ERRORS,
    MAX_SEQ,
    AppendOut,
    EventBatch,
    EventIn,
    EventsOut,
    HeadOut,
    QueuedOut,
    RebuildOut,
)
from ..namespaces import tag_actor

router = APIRouter(prefix="/api/v1", tags=["events"], responses=ERRORS)


def _tagged(batch: list[EventIn], p: Principal) -> list[NewEvent]:
    """The caller's events, their actor tagged with the writer's namespace (see ``namespaces.py``), after the
    checks that must refuse a batch on receipt rather than later: a payload nested too deep, a time no working
    clock claims (the receive time orders the ledger anyway: ``eventtime.py``), an erasure by anyone but an
    admin of every namespace."""
    received = datetime.now(UTC)
    for number, e in enumerate(batch):
        check_depth(e.payload, f"events[{number}].payload")
        if e.ts is not None:
            check_claimed_time(e.ts, received, f"events[{number}].ts")
        if e.type == PAYLOAD_ERASED and not (p.sees_all and "admin" in p.scopes):
            raise ForbiddenError("a PayloadErased event needs an admin token for all namespaces ('*'): "
                                 "authorising the removal of a payload is an admin's act (docs/ledger.md)")
    return [NewEvent(e.type, e.payload, e.id or new_id(), e.ts or utc_now(), tag_actor(e.actor, p), e.v)
            for e in batch]


def append(state: ServerState, batch: list[EventIn], p: Principal) -> dict[str, Any]:
    """The append pipeline, as for every writer, with the namespace check between preparing and sealing."""
    return append_prepared(state, pipeline.prepare(_tagged(batch, p)), p)


def append_prepared(state: ServerState, checked: pipeline.Prepared, p: Principal) -> dict[str, Any]:
    """``append`` for a batch the server built and checked itself (the serving endpoint's traces): the
    namespace check, sealing and projecting, without validating it a second time."""
    client = state.client
    stored = pipeline.append(
        client.store, checked, check=lambda prepared: state.index.check_writes(prepared, p)
    )
    if stored:
        client.notify_webhooks(stored)  # the server's hooks (MLINEAGE_WEBHOOKS), on a background thread
    return {"accepted": len(stored), "duplicates": len(checked) - len(stored),
            "head_seq": stored[-1].seq if stored else client.store.head()[0],
            "events": [{"id": e.id, "seq": e.seq, "hash": e.hash, "prev_hash": e.prev_hash,
                        "payload_sha256": e.payload_sha256, "ts": e.ts, "actor": e.actor} for e in stored]}


@router.post("/events", status_code=200, response_model=AppendOut)
def append_one(event: EventIn, p: Writer, state: ServerDep) -> dict[str, Any]:
    """Append one event (idempotent by id)."""
    return append(state, [event], p)


@router.post("/events/batch", status_code=200, response_model=AppendOut,
             responses={202: {"model": QueuedOut, "description": "queued (wait=false)"}})
def append_batch(batch: EventBatch, p: Writer, state: ServerDep, wait: bool = True) -> Any:
    """Append a batch atomically: all of it or none; ids already in the ledger are skipped.

    ``wait=false``: validate and queue the batch durably (202), and let the worker chain and project it
    (see /ingestion for the lag). Graph errors (an unknown run...) then show up there, not here."""
    if wait:
        return append(state, batch.events, p)
    checked = pipeline.prepare(_tagged(batch.events, p))
    state.index.check_writes(checked, p)
    queued, dupes = state.inbox.accept_native(checked, p.write_namespace)
    return JSONResponse({"queued": queued, "duplicates": dupes}, status_code=202)


@router.get("/events", response_model=EventsOut)
def list_events(p: Reader, state: ServerDep, after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
                limit: Annotated[int, Query(ge=1, le=5000)] = 1000) -> dict[str, Any]:
    """Raw ledger events (a token for all namespaces only: the ledger spans every team)."""
    if not p.sees_all:
        raise ForbiddenError("reading the raw ledger needs a token for all namespaces ('*')")
    out = []
    for e in state.client.store.iter_events(after_seq, batch=limit):
        out.append({"seq": e.seq, "id": e.id, "type": e.type, "v": e.v, "ts": e.ts, "actor": e.actor,
                    "payload": e.payload, "payload_sha256": e.payload_sha256, "prev_hash": e.prev_hash,
                    "hash": e.hash})
        if len(out) >= limit:
            break
    return {"events": out}


@router.get("/head", response_model=HeadOut)
def head(p: Reader, state: ServerDep) -> dict[str, Any]:
    seq, hash_ = state.client.store.head()
    return {"seq": seq, "hash": hash_}


@router.get("/verify")
def verify(p: Reader, state: ServerDep, projections: bool = False) -> dict[str, Any]:
    """Walk the hash chain, then check the ledger still holds the newest signed checkpoint.
    ``projections=true`` (a token for all namespaces) also replays the ledger into scratch tables and compares
    them with the live ones, naming the first differing row."""
    from ...checkpoints import against_checkpoint

    latest = state.checkpoints.latest_checkpoint() if state.checkpoints is not None else None
    report = against_checkpoint(state.client.verify(), latest, state.client.store).to_dict()
    if projections:
        if not p.sees_all:
            raise ForbiddenError("verifying the projections reads every namespace: it needs a token for '*'")
        from ...audit import compare_projections

        compared = compare_projections(state.client.store)
        report["projections"] = compared.to_dict()
        report["ok"] = report["ok"] and compared.ok
    return report


@router.post("/rebuild", response_model=RebuildOut)
def rebuild(p: Admin, state: ServerDep) -> dict[str, Any]:
    if not p.sees_all:
        raise ForbiddenError("rebuild needs an admin token for all namespaces ('*')")
    return {"replayed": state.client.rebuild()}
