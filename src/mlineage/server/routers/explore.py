"""What the lineage explorer asks (the web UI, and anyone else): a grouped, laid-out view of a node's
neighbourhood, hop counts, a two-model diff as one graph, and type-ahead search — each the Client's own call
on the caller's namespace view, cached by ledger head like the other queries (``answers.py``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from ...graph.explore import MAX_VIEW_NODES, ViewOptions
from ..answers import answer
from ..deps import Reader, ServerDep
from ..models import ERRORS, _Open

router = APIRouter(prefix="/api/v1/explore", tags=["explore"], responses=ERRORS)

Ref = Annotated[str, Query(min_length=1, max_length=400)]
AsOf = Annotated[str | None, Query(max_length=64, description="ISO time, date, or seq:<n>")]


class ViewNode(_Open):
    key: str
    type: str  # artifact | run | group
    kind: str
    label: str
    layer: int
    x: float
    y: float


class ViewEdge(BaseModel):
    source: str
    target: str
    type: str


class ViewOut(_Open):
    """A laid-out view: ``nodes`` with coordinates (``hidden_up``/``hidden_down``, when not 0: neighbours not
    shown; artifacts carry ``name``/``version`` when labelled; group nodes carry ``count``, ``side`` and
    ``owner``), ``edges``, and ``truncated`` saying what was left out."""

    root: str
    as_of_seq: int | None
    nodes: list[ViewNode]
    edges: list[ViewEdge]
    truncated: list[str]


class HopsOut(_Open):
    root: str
    up: list[int]
    down: list[int]
    up_total: int
    down_total: int


class DiffGraphOut(_Open):
    a: str
    b: str
    same: int
    differences: list[dict[str, Any]]
    nodes: list[ViewNode]
    edges: list[ViewEdge]
    truncated: list[str]


class SearchOut(BaseModel):
    hits: list[dict[str, str]]


def _documents(model: type) -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "description": "the answer"}}


@router.get("/view", responses=_documents(ViewOut))
def view(request: Request, p: Reader, state: ServerDep, ref: Ref,
         depth: Annotated[int, Query(ge=0, le=1000)] = 2,
         direction: Literal["up", "down", "both"] = "both",
         expand: Annotated[list[str] | None, Query()] = None,
         group_min: Annotated[int, Query(ge=1, le=MAX_VIEW_NODES)] = 12,
         max_nodes: Annotated[int, Query(ge=1, le=MAX_VIEW_NODES)] = 1500,
         as_of: AsOf = None) -> Any:
    """REF's neighbourhood to DEPTH hops, big fan-ins grouped, laid out left to right (ancestors left)."""
    options = ViewOptions(depth, direction, tuple(expand or ()), group_min, max_nodes, as_of)
    return answer(request, state, p, "explore/view", (ref, options), lambda c: c.explore(ref, options))


@router.get("/hops", responses=_documents(HopsOut))
def hops(request: Request, p: Reader, state: ServerDep, ref: Ref, as_of: AsOf = None) -> Any:
    """How many nodes lie at each hop upstream and downstream of REF."""
    return answer(request, state, p, "explore/hops", (ref, as_of), lambda c: c.hop_counts(ref, as_of=as_of))


@router.get("/diff", responses=_documents(DiffGraphOut))
def diff(request: Request, p: Reader, state: ServerDep, a: Ref, b: Ref, as_of: AsOf = None,
         max_nodes: Annotated[int, Query(ge=1, le=MAX_VIEW_NODES)] = 5000) -> Any:
    """A's and B's ancestries as one graph, each node same, added, removed or changed."""
    return answer(request, state, p, "explore/diff", (a, b, as_of, max_nodes),
                  lambda c: c.diff_graph(a, b, as_of=as_of, max_nodes=max_nodes))


@router.get("/search", response_model=SearchOut)
def search(p: Reader, state: ServerDep, q: Annotated[str, Query(max_length=400)] = "",
           limit: Annotated[int, Query(ge=1, le=50)] = 10) -> dict[str, Any]:
    """Type-ahead: artifact names, digests and run ids starting with Q."""
    return {"hits": state.view(p).search(q, limit)}
