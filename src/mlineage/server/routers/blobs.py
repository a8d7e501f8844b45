"""``/blobs``: the server's artifact store by digest — ask (HEAD), upload (PUT, or a chunked session),
download.

Whatever arrives is re-hashed before it is stored under its digest, so the store only ever holds bytes that
match their names; the store itself is the server's configured one (a folder or S3). Verified bytes also
grant the sender's namespace the blob (``blob_grants.py``): a namespace reads, and is told it has, only the
blobs it sent; knowing or recording a digest grants nothing. ``*`` tokens see the whole store.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ...errors import NotFoundError, ValidationError
from ...model import Digest
from ..auth import Principal
from ..blob_grants import NamespacedBlobs
from ..deps import Reader, ServerDep, ServerState, Writer
from ..models import ERRORS, BlobStoredOut
from ..uploads import OffsetMismatch, UploadSessions

STREAM_CHUNK = 1 << 20
_BINARY = {"requestBody": {"required": True, "content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}

router = APIRouter(prefix="/api/v1/blobs", tags=["blobs"], responses=ERRORS)


class MissingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    digests: list[str] = Field(max_length=1000)


class MissingOut(BaseModel):
    missing: list[str]


class UploadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    digest: str = Field(min_length=1, max_length=80)
    size: int = Field(ge=0, le=2**53)


class UploadState(BaseModel):
    upload_id: str | None = None
    digest: str
    size: int
    offset: int
    exists: bool = False


def default_uploads_dir(artifacts_uri: str) -> Path:
    """Where upload sessions are staged: a folder per artifact store, shared by the server processes here."""
    import tempfile

    key = hashlib.sha256(artifacts_uri.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / "mlineage-uploads" / key


def _uploads(state: ServerState) -> Path:
    return default_uploads_dir(state.client.blobs.uri)


def _store_and_grant(state: ServerState, p: Principal, digest: Digest, verified: Path) -> bool:
    """Keep bytes the server has verified as ``digest`` (one copy for all namespaces) and grant them to the
    sender's namespace; whether that namespace did not hold them before."""
    if not state.client.blobs.has(digest):
        state.client.blobs.put_file(verified)
    return state.grants.grant(p.write_namespace, digest)


@router.head("/{digest}", response_class=Response, responses={200: {
    "description": "the caller's namespace has the blob (no body, as for every HEAD)",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
def has_blob(digest: str, p: Reader, state: ServerDep) -> Response:
    """200 when the caller's namespace has the blob (it sent its bytes), else 404: clients skip uploads
    the namespace already made, and nobody learns what another namespace stored."""
    return Response(status_code=200 if state.blobs(p).has(Digest.parse(digest)) else 404)


@router.post("/missing", response_model=MissingOut)
def missing(body: MissingIn, p: Reader, state: ServerDep) -> Any:
    """Which of up to 1,000 digests the caller's namespace lacks (what a push must send)."""
    wanted = [Digest.parse(d) for d in body.digests]
    blobs = state.blobs(p)
    if isinstance(blobs, NamespacedBlobs):
        return {"missing": [str(d) for d in blobs.missing(wanted)]}
    return {"missing": [str(d) for d in wanted if not blobs.has(d)]}


@router.put("/{digest}", status_code=201, openapi_extra=_BINARY, response_model=BlobStoredOut)
async def put_blob(digest: str, request: Request, p: Writer, state: ServerDep) -> Any:
    """Upload a blob in one request, streamed to disk; its SHA-256 must match DIGEST, or nothing is stored.
    201 when the caller's namespace did not hold the blob before, 200 when it did."""
    import anyio
    import anyio.to_thread

    wanted = Digest.parse(digest)
    uploads = _uploads(state)
    uploads.mkdir(parents=True, exist_ok=True)
    staged = uploads / f"put-{os.urandom(16).hex()}.part"
    h = hashlib.sha256()
    size = 0
    try:
        async with await anyio.open_file(staged, "wb") as out:
            async for chunk in request.stream():
                h.update(chunk)
                await out.write(chunk)
                size += len(chunk)
        if h.hexdigest() != wanted.hex:
            raise ValidationError("digest", f"the body hashes to sha256:{h.hexdigest()}, not {wanted}",
                                  "upload the bytes that match the digest")
        added = await anyio.to_thread.run_sync(_store_and_grant, state, p, wanted, staged)
        if not added:
            return JSONResponse({"digest": str(wanted), "size": size, "stored": False}, status_code=200)
    finally:
        staged.unlink(missing_ok=True)
    return {"digest": str(wanted), "size": size, "stored": True}


@router.get("/{digest}", response_class=Response, responses={
    200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
def get_blob(digest: str, p: Reader, state: ServerDep) -> Response:
    """Download a blob by digest, streamed: one the caller's namespace sent (any, for a ``*`` token)."""
    blobs = state.blobs(p)
    wanted = Digest.parse(digest)
    if not blobs.has(wanted):
        raise NotFoundError(f"no blob {wanted} for this token: upload it with PUT first (a namespace reads "
                            "the blobs it sent; recording a digest is not enough)")
    handle = blobs.open(wanted)

    def chunks() -> Iterator[bytes]:
        with handle:
            while chunk := handle.read(STREAM_CHUNK):
                yield chunk

    return StreamingResponse(chunks(), media_type="application/octet-stream")


@router.post("/uploads", status_code=201, response_model=UploadState)
def start_upload(body: UploadIn, p: Writer, state: ServerDep) -> Any:
    """Start a chunked upload of a large blob (answers ``exists`` when the caller's namespace has it)."""
    digest = Digest.parse(body.digest)
    if state.blobs(p).has(digest):
        return JSONResponse({"upload_id": None, "digest": str(digest), "size": body.size,
                             "offset": body.size, "exists": True}, status_code=200)
    s = UploadSessions(_uploads(state)).start(digest, body.size)
    return UploadState(upload_id=s.upload_id, digest=str(s.digest), size=s.size, offset=s.offset)


@router.get("/uploads/{upload_id}", response_model=UploadState)
def upload_state(upload_id: str, p: Writer, state: ServerDep) -> Any:
    """Where an upload stands: resume by sending the chunk that starts at ``offset``."""
    s = UploadSessions(_uploads(state)).get(upload_id)
    return UploadState(upload_id=s.upload_id, digest=str(s.digest), size=s.size, offset=s.offset)


@router.patch("/uploads/{upload_id}", openapi_extra=_BINARY, response_model=UploadState)
async def upload_chunk(upload_id: str, request: Request, p: Writer, state: ServerDep) -> Any:
    """Append the body at the ``Upload-Offset`` header's byte; 409 (with the real offset) if it is not the
    end."""
    import anyio.to_thread

    sessions = UploadSessions(_uploads(state))
    declared = request.headers.get("upload-offset", "")
    if not declared.isdigit():
        raise ValidationError(
            "Upload-Offset", "missing or not a byte offset", "send the offset of this chunk"
        )
    data = await request.body()
    try:
        offset = await anyio.to_thread.run_sync(sessions.append, upload_id, int(declared), [data])
    except OffsetMismatch as exc:
        return JSONResponse(
            {
                "error": {"type": "OffsetMismatch", "message": str(exc), "field": "Upload-Offset"},
                "offset": exc.expected,
            },
            status_code=409,
        )
    s = sessions.get(upload_id)
    return UploadState(upload_id=upload_id, digest=str(s.digest), size=s.size, offset=offset)


@router.post("/uploads/{upload_id}/complete", status_code=201, response_model=BlobStoredOut)
async def complete_upload(upload_id: str, p: Writer, state: ServerDep) -> Any:
    """Verify the staged bytes against the digest, store them and grant them to the caller's namespace; the
    session ends either way."""
    import anyio.to_thread

    sessions = UploadSessions(_uploads(state))
    session, part = await anyio.to_thread.run_sync(sessions.verified_part, upload_id)
    try:
        await anyio.to_thread.run_sync(_store_and_grant, state, p, session.digest, part)
    finally:
        sessions.discard(upload_id)
    return {"digest": str(session.digest), "size": session.size, "stored": True}
