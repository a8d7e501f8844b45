"""Lineage queries by URL (curl-friendly) — the core's own ``Client`` calls on the caller's namespace view,
serialized once and cached by ledger head (``answers.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from ...render import node_to_dict
from ..answers import answer
from ..deps import Reader, ServerDep
from ..models import ERRORS, ArtifactOut, ClosureOut, LineageDiffOut, LineageOut, PathOut, RunOut

router = APIRouter(prefix="/api/v1", tags=["lineage"], responses=ERRORS)

Ref = Annotated[str, Query(min_length=1, max_length=400)]
Depth = Annotated[int | None, Query(ge=0, le=10**6)]
Limit = Annotated[int | None, Query(ge=1, le=10**9)]


def _documents(model: type) -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "description": "the result, as the CLI's --json prints it"}}


@router.get("/trace", responses=_documents(LineageOut))
def trace(request: Request, p: Reader, state: ServerDep, ref: Ref, depth: Depth = None,
          limit: Limit = 100_000) -> Any:
    """All ancestors of REF (digest, prefix, run:<id>, name@version)."""
    return answer(request, state, p, "trace", (ref, depth, limit),
                  lambda c: c.lineage(ref, "up", depth=depth, limit=limit))


@router.get("/impact", responses=_documents(LineageOut))
def impact(request: Request, p: Reader, state: ServerDep, ref: Ref, depth: Depth = None,
           limit: Limit = 100_000) -> Any:
    """All descendants of REF."""
    return answer(request, state, p, "impact", (ref, depth, limit),
                  lambda c: c.lineage(ref, "down", depth=depth, limit=limit))


@router.get("/path", responses=_documents(PathOut))
def path(request: Request, p: Reader, state: ServerDep, source: Ref, target: Ref,
         max_paths: Annotated[int, Query(ge=1, le=1000)] = 20) -> Any:
    """The chain(s) of runs and artifacts between two nodes (`mlineage path --json`)."""
    return answer(request, state, p, "path", (source, target, max_paths),
                  lambda c: c.path(source, target, max_paths=max_paths).to_dict())


@router.get("/closure", responses=_documents(ClosureOut))
def closure(request: Request, p: Reader, state: ServerDep, ref: Ref) -> Any:
    """Every data, code and environment anchor needed to reproduce REF (`mlineage closure --json`)."""
    return answer(request, state, p, "closure", ref, lambda c: c.closure(ref).to_dict(), cacheable=False)


@router.get("/lineage-diff", responses=_documents(LineageDiffOut))
def lineage_diff(request: Request, p: Reader, state: ServerDep, a: Ref, b: Ref) -> Any:
    """What differs between two models' ancestries (`mlineage lineage-diff --json`)."""
    return answer(request, state, p, "lineage-diff", (a, b), lambda c: c.lineage_diff(a, b).to_dict())


@router.get("/resolve", response_model=ArtifactOut | RunOut)
def resolve(p: Reader, state: ServerDep, ref: Ref) -> dict[str, Any]:
    return node_to_dict(state.view(p).resolve(ref))
