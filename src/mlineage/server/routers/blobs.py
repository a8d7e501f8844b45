"""Blobs by digest: upload (content-addressed, verified) and download (visible to the token's namespace)."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ...errors import NotFoundError, ValidationError
from ...model import Digest
from ..deps import Reader, ServerDep, Writer
from ..models import ERRORS, BlobStoredOut

router = APIRouter(prefix="/api/v1", tags=["blobs"], responses=ERRORS)


@router.put("/blobs/{digest}", status_code=201, response_model=BlobStoredOut, openapi_extra={
    "requestBody": {"required": True,
                    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
async def put_blob(digest: str, request: Request, p: Writer, state: ServerDep) -> JSONResponse:
    """Upload a blob; its SHA-256 must match DIGEST (content addressing), or nothing is stored."""
    blobs = state.client.blobs
    wanted = Digest.parse(digest)
    data = await request.body()
    actual = hashlib.sha256(data).hexdigest()
    if actual != wanted.hex:
        raise ValidationError("digest", f"the body hashes to sha256:{actual}, not {wanted}",
                              "upload the bytes that match the digest")
    if blobs.has(wanted):
        return JSONResponse({"digest": str(wanted), "size": len(data), "stored": False}, status_code=200)
    import anyio.to_thread

    await anyio.to_thread.run_sync(blobs.put_bytes, data)
    return JSONResponse({"digest": str(wanted), "size": len(data), "stored": True}, status_code=201)


@router.get("/blobs/{digest}", response_class=Response, responses={
    200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
def get_blob(digest: str, p: Reader, state: ServerDep) -> Response:
    """Download a blob by digest (the artifact must be visible to the token's namespace)."""
    blobs = state.client.blobs
    wanted = Digest.parse(digest)
    if not p.sees_all and state.view(p).store.get_artifact(str(wanted)) is None:
        raise NotFoundError(f"artifact {wanted} is not recorded in namespace {p.namespace!r}")
    if not blobs.has(wanted):
        raise NotFoundError(f"no blob {wanted} in the artifact store: upload it with PUT first")
    with blobs.open(wanted) as handle:
        data = handle.read()
    return Response(data, media_type="application/octet-stream")
