"""The query API: a remote Client posts its query object and gets back the typed result.

Each endpoint runs the very ``Client`` call a local user makes (on the caller's namespace view) and answers
with the result's wire form (``graph/wire.py``): the documented ``--json`` shape, plus the records a client
needs to rebuild the same result class, cached by ledger head (``answers.py``). Errors carry their exception
class name (``errors.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ...graph import wire
from ..answers import answer
from ..deps import Reader, ServerDep
from ..models import ERRORS, ClosureOut, LineageDiffOut, LineageOut, PathOut

router = APIRouter(prefix="/api/v1/query", tags=["query"], responses=ERRORS)

RefText = Annotated[str, Field(min_length=1, max_length=400)]
AsOf = Annotated[int | str | None, Field(description="a ledger seq, seq:<n>, or an ISO timestamp")]


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: AsOf = None


class LineageQueryIn(_Query):
    """``LineageQuery`` before resolution: the ref as text, as-of as a seq or a time."""

    ref: RefText
    direction: str = Field(default="up", pattern="^(up|down)$")
    depth: int | None = Field(default=None, ge=0, le=10**6)
    limit: int | None = Field(default=100_000, ge=1, le=10**9)
    kinds: list[Annotated[str, Field(max_length=64)]] | None = Field(default=None, max_length=100)


class PathQueryIn(_Query):
    source: RefText
    target: RefText
    max_paths: int = Field(default=20, ge=1, le=1000)


class ClosureQueryIn(_Query):
    ref: RefText


class DiffQueryIn(_Query):
    a: RefText
    b: RefText


def _documents(model: type) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"model": model, "description": "the result as --json prints it, plus `records` where needed"}
    }


@router.post("/lineage", responses=_documents(LineageOut))
def lineage(body: LineageQueryIn, request: Request, p: Reader, state: ServerDep) -> Any:
    """Ancestors (``up``) or descendants (``down``) of a ref: ``Client.lineage``."""
    # the wire form of a lineage result is its to_dict shape, so a large one can stream like GET /trace
    return answer(request, state, p, "query/lineage", body.model_dump_json(), lambda c: c.lineage(
        body.ref, body.direction, depth=body.depth, limit=body.limit, kinds=body.kinds, as_of=body.as_of))


@router.post("/path", responses=_documents(PathOut))
def path(body: PathQueryIn, request: Request, p: Reader, state: ServerDep) -> Any:
    """The chains between two nodes: ``Client.path``."""
    return answer(request, state, p, "query/path", body.model_dump_json(), lambda c: wire.path_to_wire(
        c.path(body.source, body.target, as_of=body.as_of, max_paths=body.max_paths)))


@router.post("/closure", responses=_documents(ClosureOut))
def closure(body: ClosureQueryIn, request: Request, p: Reader, state: ServerDep) -> Any:
    """Every anchor needed to reproduce a ref: ``Client.closure``."""
    return answer(request, state, p, "query/closure", body.model_dump_json(),
                  lambda c: wire.closure_to_wire(c.closure(body.ref, as_of=body.as_of)), cacheable=False)


@router.post("/lineage-diff", responses=_documents(LineageDiffOut))
def lineage_diff(body: DiffQueryIn, request: Request, p: Reader, state: ServerDep) -> Any:
    """What differs between two ancestries: ``Client.lineage_diff``."""
    return answer(request, state, p, "query/lineage-diff", body.model_dump_json(),
                  lambda c: wire.diff_to_wire(c.lineage_diff(body.a, body.b, as_of=body.as_of)))
