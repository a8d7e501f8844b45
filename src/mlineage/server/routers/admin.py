"""API tokens: create, list and revoke (an admin of a namespace manages that namespace's tokens only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from ...errors import NotFoundError
from ..auth import ForbiddenError
from ..deps import Admin, ServerDep
from ..models import ERRORS, CreatedTokenOut, TokenIn, TokenOut, TokensOut
from ..namespaces import tag_actor

router = APIRouter(prefix="/api/v1", tags=["admin"], responses=ERRORS)


@router.post("/tokens", status_code=201, response_model=CreatedTokenOut)
def create_token(body: TokenIn, p: Admin, state: ServerDep) -> dict[str, Any]:
    if not p.sees_all and body.namespace != p.namespace:
        raise ForbiddenError(f"an admin of {p.namespace!r} can only create tokens for that namespace")
    token, record = state.tokens.create(body.name, body.scopes, body.namespace, actor=tag_actor(None, p))
    return dict(record, token=token)


@router.get("/tokens", response_model=TokensOut)
def list_tokens(p: Admin, state: ServerDep) -> dict[str, Any]:
    found = state.tokens.list()
    return {"tokens": [t for t in found if p.sees_all or t["namespace"] == p.namespace]}


@router.delete("/tokens/{token_id}", response_model=TokenOut)
def revoke_token(token_id: str, p: Admin, state: ServerDep) -> dict[str, Any]:
    visible = {t["id"]: t for t in state.tokens.list() if p.sees_all or t["namespace"] == p.namespace}
    if token_id not in visible:
        raise NotFoundError(f"no token with id {token_id!r}")
    revoked = state.tokens.revoke(token_id, actor=tag_actor(None, p))
    state.forget_tokens()
    return revoked


class GcIn(BaseModel):
    keep_last: int | None = None
    older_than: str | None = None  # 30d, 12h, 45m or an RFC 3339 time
    dry_run: bool = True


@router.post("/admin/gc")
def gc(body: GcIn, p: Admin, state: ServerDep) -> dict[str, Any]:
    """A retention rule on the server's artifact store (an admin of every namespace: the store is shared):
    the plan (expired, protected with why, kept) and, unless ``dry_run``, the expired blobs removed; never
    a protected one nor one another record still needs (docs/incidents.md)."""
    from ...data.retention import collect, cutoff

    if not p.sees_all:
        raise ForbiddenError("gc needs an admin token for all namespaces ('*')")
    when = cutoff(body.older_than) if body.older_than is not None else None
    return collect(state.client, keep_last=body.keep_last, older_than=when, dry_run=body.dry_run)
