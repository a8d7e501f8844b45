"""API tokens: create, list and revoke (an admin of a namespace manages that namespace's tokens only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

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
