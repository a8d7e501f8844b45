"""Reproduce over HTTP: the reproducibility verdict by URL, and the run-reuse look-up a remote Client asks
before a reusable step runs. Both are the server's own ``Client`` calls on the caller's namespace view, so a
team server and a local store answer alike (blob presence is the server's artifact store's)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ..answers import answer
from ..deps import Reader, ServerDep
from ..models import ERRORS, ReproducibleOut, ReuseLookupOut

router = APIRouter(prefix="/api/v1/reproduce", tags=["reproduce"], responses=ERRORS)

Digest = Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")]


class LookupIn(BaseModel):
    """A cache key and the digests of its terms (``mlineage.reproduce.key``)."""

    model_config = ConfigDict(extra="forbid")
    key: Digest
    terms: dict[Annotated[str, Field(max_length=32)], Digest] = Field(max_length=16)


@router.get("/reproducible", responses={200: {"model": ReproducibleOut, "description": "the verdict"}})
def reproducible(
    request: Request,
    p: Reader,
    state: ServerDep,
    ref: Annotated[str, Query(min_length=1, max_length=400)],
    recursive: bool = False,
) -> Any:
    """R(REF) term by term (`mlineage reproducible --json`)."""
    return answer(
        request,
        state,
        p,
        "reproducible",
        (ref, recursive),
        lambda c: c.reproducible(ref, recursive=recursive).to_dict(),
        cacheable=False,
    )


@router.post("/lookup", responses={200: {"model": ReuseLookupOut, "description": "a hit, or why it missed"}})
def lookup(body: LookupIn, request: Request, p: Reader, state: ServerDep) -> Any:
    """A completed run with this cache key whose outputs are all stored, or why there is none."""
    from ...reproduce.key import CacheKey
    from ...reproduce.reuse import lookup as find

    key = CacheKey(body.key, dict(body.terms))
    return answer(
        request,
        state,
        p,
        "reproduce/lookup",
        body.model_dump_json(),
        lambda c: find(c, key).to_dict(),
        cacheable=False,
    )
