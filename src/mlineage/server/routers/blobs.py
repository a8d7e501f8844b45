"""``/blobs``: the server's artifact store by digest — ask (HEAD), upload (PUT, or a chunked session),
download.

Whatever arrives is re-hashed before it is stored under its digest, so the store only ever holds bytes that
match their names; the store itself is the server's configured one (a folder or S3). Reading needs the
artifact to be visible in the caller's namespace when it is a recorded artifact; blobs that are not
artifacts themselves (the files of a recorded directory) are served to any reader who names their digest.
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


def _readable(state: ServerState, digest: Digest, p: Principal) -> None:
    if p.sees_all:
        return
    key = str(digest)
    if state.client.store.get_artifact(key) is not None and state.view(p).store.get_artifact(key) is None:
        raise NotFoundError(f"artifact {digest} is not recorded in namespace {p.namespace!r}")


@router.head("/{digest}", response_class=Response, responses={200: {
    "description": "the artifact store has the blob (no body, as for every HEAD)",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
def has_blob(digest: str, p: Reader, state: ServerDep) -> Response:
    """200 when the artifact store has the blob, else 404 (clients skip uploads the server has)."""
    return Response(status_code=200 if state.client.blobs.has(Digest.parse(digest)) else 404)


@router.post("/missing", response_model=MissingOut)
def missing(body: MissingIn, p: Reader, state: ServerDep) -> Any:
    """Which of up to 1,000 digests the artifact store lacks (what a push must send)."""
    wanted = [Digest.parse(d) for d in body.digests]
    return {"missing": [str(d) for d in wanted if not state.client.blobs.has(d)]}


@router.put("/{digest}", status_code=201, openapi_extra=_BINARY, response_model=BlobStoredOut)
async def put_blob(digest: str, request: Request, p: Writer, state: ServerDep) -> Any:
    """Upload a blob in one request, streamed to disk; its SHA-256 must match DIGEST, or nothing is stored."""
    import anyio
    import anyio.to_thread

    blobs = state.client.blobs
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
        if blobs.has(wanted):
            return JSONResponse({"digest": str(wanted), "size": size, "stored": False}, status_code=200)
        await anyio.to_thread.run_sync(blobs.put_file, staged)
    finally:
        staged.unlink(missing_ok=True)
    return {"digest": str(wanted), "size": size, "stored": True}


@router.get("/{digest}", response_class=Response, responses={
    200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
def get_blob(digest: str, p: Reader, state: ServerDep) -> Response:
    """Download a blob by digest, streamed (a recorded artifact must be visible to the token's namespace)."""
    blobs = state.client.blobs
    wanted = Digest.parse(digest)
    _readable(state, wanted, p)
    if not blobs.has(wanted):
        raise NotFoundError(f"no blob {wanted} in the artifact store: upload it with PUT first")
    handle = blobs.open(wanted)

    def chunks() -> Iterator[bytes]:
        with handle:
            while chunk := handle.read(STREAM_CHUNK):
                yield chunk

    return StreamingResponse(chunks(), media_type="application/octet-stream")


@router.post("/uploads", status_code=201, response_model=UploadState)
def start_upload(body: UploadIn, p: Writer, state: ServerDep) -> Any:
    """Start a chunked upload of a large blob (answers ``exists`` when the store already has it)."""
    digest = Digest.parse(body.digest)
    if state.client.blobs.has(digest):
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
    """Verify the staged bytes against the digest and store them; the session ends either way."""
    import anyio.to_thread

    sessions = UploadSessions(_uploads(state))
    session, part = await anyio.to_thread.run_sync(sessions.verified_part, upload_id)
    try:
        if not state.client.blobs.has(session.digest):
            await anyio.to_thread.run_sync(state.client.blobs.put_file, part)
    finally:
        sessions.discard(upload_id)
    return {"digest": str(session.digest), "size": session.size, "stored": True}
