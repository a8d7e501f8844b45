"""The model registry over HTTP: registry versions, current aliases and alias moves of the caller's namespace,
so a remote Client (``registry/records.py``) reads what an embedded one reads from the projection. Writes are
events through ``/api/v1/events`` like every other write; the projection's compare-and-set answers 409."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from ...errors import NotFoundError
from ...registry.records import records_for
from ..deps import Admin, Reader, ServerDep
from ..models import ERRORS

router = APIRouter(prefix="/api/v1", tags=["registry"], responses=ERRORS)


class ModelVersionOut(BaseModel):
    name: str
    version: int
    digest: str
    semver: str | None
    actor: str | None
    ts: str | None
    seq: int
    approval: str = "pending"
    approval_by: str | None = None
    approval_reason: str | None = None


class ApprovalOut(BaseModel):
    seq: int
    name: str
    version: int
    state: str
    reason: str
    actor: str | None
    ts: str


class ApprovalsOut(BaseModel):
    approvals: list[ApprovalOut]


class ModelVersionsOut(BaseModel):
    versions: list[ModelVersionOut]


class AliasOut(BaseModel):
    name: str
    alias: str
    version: int
    digest: str
    seq: int


class AliasesOut(BaseModel):
    aliases: list[AliasOut]


class GateVerdictOut(BaseModel):
    gate: str
    label: str
    verdict: str


class AliasMoveOut(BaseModel):
    seq: int
    name: str
    alias: str
    from_: int | None = None
    to: int | None
    digest: str | None
    reason: str
    gates: list[GateVerdictOut]
    override: bool
    actor: str | None
    ts: str

    model_config = {"populate_by_name": True, "alias_generator": lambda f: "from" if f == "from_" else f}


class AliasMovesOut(BaseModel):
    moves: list[AliasMoveOut]


class DeploymentOut(BaseModel):
    seq: int
    endpoint: str
    env: str
    name: str
    version: int
    digest: str
    alias: str | None
    run_id: str
    reason: str
    actor: str | None
    ts: str


class DeploymentsOut(BaseModel):
    deployments: list[DeploymentOut]


class IncidentOut(BaseModel):
    id: str
    digest: str
    reason: str
    actor: str | None
    ts: str
    seq: int
    resolution: str | None
    closed_by: str | None
    closed_at: str | None


class RegistryOut(BaseModel):
    versions: list[ModelVersionOut]
    moves: list[AliasMoveOut]
    deployments: list[DeploymentOut]


@router.get("/registry", response_model=RegistryOut, response_model_by_alias=True)
def registry_everything(p: Reader, state: ServerDep) -> dict[str, Any]:
    """Every model's versions, every alias move and every deployment (what an incident's impact reads)."""
    return records_for(state.view(p).store).everything()


@router.get("/incidents/{incident_id}", response_model=IncidentOut)
def incident(incident_id: str, p: Reader, state: ServerDep) -> dict[str, Any]:
    """An incident: its bad artifact, who opened it and why, and its resolution once closed."""
    found = records_for(state.view(p).store).incident(incident_id)
    if found is None:
        raise NotFoundError(f"no incident {incident_id!r}")
    return found


@router.get("/endpoints/{endpoint:path}/deployments", response_model=DeploymentsOut)
def endpoint_deployments(endpoint: str, p: Reader, state: ServerDep) -> dict[str, Any]:
    """Which registry version served an endpoint when, oldest first."""
    return {"deployments": records_for(state.view(p).store).deployments(endpoint)}


@router.get("/registry/{name:path}/versions", response_model=ModelVersionsOut)
def model_versions(name: str, p: Reader, state: ServerDep) -> dict[str, Any]:
    """A registered model's immutable versions, oldest first."""
    return {"versions": records_for(state.view(p).store).versions(name)}


@router.get("/registry/{name:path}/aliases", response_model=AliasesOut)
def model_aliases(name: str, p: Reader, state: ServerDep) -> dict[str, Any]:
    """Each alias of a registered model and the version it names now."""
    return {"aliases": records_for(state.view(p).store).aliases(name)}


@router.get("/registry/{name:path}/moves", response_model=AliasMovesOut, response_model_by_alias=True)
def alias_moves(name: str, p: Reader, state: ServerDep,
                alias: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
    """Every move of the model's aliases (or of one), oldest first: from, to, who, when, why, gates."""
    return {"moves": records_for(state.view(p).store).moves(name, alias)}


@router.get("/registry/{name:path}/approvals", response_model=ApprovalsOut)
def model_approvals(name: str, p: Reader, state: ServerDep) -> dict[str, Any]:
    """Every approval change (pending, approved, rejected) of a registered model's versions, oldest first."""
    return {"approvals": records_for(state.view(p).store).approvals(name)}


class ErasureIn(BaseModel):
    ref: str
    reason: str
    authorised_by: str | None = None
    ticket: str | None = None
    events: list[int] = []


@router.post("/erasures")
def erase(body: ErasureIn, p: Admin, state: ServerDep) -> dict[str, Any]:
    """Erase an artifact's data on the server (an admin of every namespace: it appends ``PayloadErased``
    events and removes payloads and blobs): the erasure with its propagation report (docs/incidents.md)."""
    from ...registry.erasures import erase as run_erasure
    from ..auth import ForbiddenError

    if not p.sees_all:
        raise ForbiddenError("an erasure needs an admin token for all namespaces ('*')")
    return run_erasure(state.client, body.ref, reason=body.reason,
                       authorised_by=body.authorised_by or p.name, ticket=body.ticket, events=body.events,
                       actor=p.name)


@router.get("/erasures/{erasure_id}")
def erasure(erasure_id: str, p: Reader, state: ServerDep) -> dict[str, Any]:
    """An erasure: what it removed, the models it affects with their decisions, and its resolution."""
    found = records_for(state.view(p).store).erasure(erasure_id)
    if found is None:
        raise NotFoundError(f"no erasure {erasure_id!r}")
    return found
