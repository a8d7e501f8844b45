"""The gates API: what a remote Client needs to run gates against a team server.

``POST /api/v1/gates/licence`` runs ``Client.licence_report`` (the one-pass propagation over the server's
lineage
engine); ``POST /api/v1/gates/facts`` answers the gates' small look-ups (owners, licences, sources, who
recorded an artifact, earlier evaluations, the artifacts a selector names) from the ``gates`` projection.
``GET /api/v1/gates/evaluations?ref=`` lists the verdicts recorded on one artifact
(``Client.gate_evaluations``): a plain read, so the web UI (whose session cookie reads by GET only) can show
the gates a model version passed.
Writes (owners, licences, verdicts) are events through the append endpoint like every other write.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
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


class EvaluationsOut(_Open):
    """The recorded verdicts on one artifact, oldest first."""

    digest: str
    evaluations: list[dict[str, Any]]


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


@router.get("/evaluations", responses={200: {"model": EvaluationsOut, "description": "the verdicts"}})
def evaluations(
    ref: Annotated[str, Query(min_length=1, max_length=400)], request: Request, p: Reader, state: ServerDep
) -> Any:
    """Every gate verdict recorded on an artifact (a REF: digest, name@version), oldest first: the gate, its
    label, verdict, action, checks and the policy digest it ran under. Only the evaluations the caller's
    namespace recorded, on an artifact it may see."""
    from ...gates.api import artifact_of

    def compute(c: Any) -> dict[str, Any]:
        node = artifact_of(c, ref)
        return {"digest": str(node.digest), "evaluations": c.gate_evaluations(node)}

    return answer(request, state, p, "gates/evaluations", ref, compute)
