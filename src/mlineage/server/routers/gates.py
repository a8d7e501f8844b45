"""The gates API: what a remote Client needs to run gates against a team server.

``POST /api/v1/gates/licence`` runs ``Client.licence_report`` (the one-pass propagation over the server's
lineage
engine); ``POST /api/v1/gates/facts`` answers the gates' small look-ups (owners, licences, sources, who
recorded an artifact, earlier evaluations, the artifacts a selector names) from the ``gates`` projection.
Writes (owners, licences, verdicts) are events through the append endpoint like every other write.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ..answers import answer
from ..deps import Reader, ServerDep
from ..models import ERRORS, _Open

router = APIRouter(prefix="/api/v1/gates", tags=["gates"], responses=ERRORS)


class LicenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ref: Annotated[str, Field(min_length=1, max_length=400)]
    as_of: int | str | None = None


class FactsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    what: Literal["owners", "licences", "sources", "actors", "evaluations", "select"]
    keys: list[Annotated[str, Field(max_length=400)]] = Field(default_factory=list, max_length=100_000)
    name: Annotated[str, Field(max_length=400)] | None = None
    kind: Annotated[str, Field(max_length=64)] | None = None


class LicenceOut(_Open):
    """``mlineage licence REF --json``: the effective conditions and the ancestor and path of each."""

    artifact: str
    label: str
    effective: dict[str, Any]
    ancestors: int
    obligations: list[dict[str, Any]]
    unlicensed_sources: list[dict[str, Any]]
    unlicensed_count: int


FactsOut = dict[str, Any] | list[Any]


@router.post("/licence", responses={200: {"model": LicenceOut, "description": "the licence report"}})
def licence(body: LicenceIn, request: Request, p: Reader, state: ServerDep) -> Any:
    """The licence conditions a ref inherits from its ancestry, with the ancestor and path of each."""
    return answer(
        request,
        state,
        p,
        "gates/licence",
        body.model_dump_json(),
        lambda c: c.licence_report(body.ref, as_of=body.as_of).to_dict(),
    )


@router.post("/facts", responses={200: {"model": FactsOut, "description": "a mapping by key, or a list"}})
def facts(body: FactsIn, request: Request, p: Reader, state: ServerDep) -> Any:
    """One of the gates' look-ups, answered from the ``gates`` projection."""
    from ...gates.facts import SqlFacts, answer_facts

    return answer(
        request,
        state,
        p,
        "gates/facts",
        body.model_dump_json(),
        lambda c: answer_facts(SqlFacts(c.store), body.what, body.keys, body.name, body.kind),
    )
