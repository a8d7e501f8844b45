"""Dataset versions over HTTP: the semantic versions, profiles and rollbacks of the caller's namespace, so
a remote Client (``datasets/records.py``) reads what an embedded one reads from its projections."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from ...datasets.records import records_for
from ...errors import NotFoundError
from ...model import Digest
from ..deps import Reader, ServerDep
from ..models import ERRORS, MAX_SEQ

router = APIRouter(prefix="/api/v1", tags=["datasets"], responses=ERRORS)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class DatasetVersionOut(_Open):
    name: str
    semver: str
    digest: str
    version: int | None
    proposed: str
    level: str
    overridden: bool
    reasons: list[str]
    previous_digest: str | None
    previous_semver: str | None
    summary: dict[str, Any]
    seq: int


class DatasetVersionsOut(BaseModel):
    versions: list[DatasetVersionOut]


class DatasetProfileOut(BaseModel):
    digest: str
    profile: str
    rows: int
    columns: int
    seq: int


class RollbackOut(_Open):
    seq: int
    name: str
    reason: str
    actor: str | None
    ts: str


class RollbacksOut(BaseModel):
    rollbacks: list[RollbackOut]


@router.get("/datasets/profiles/{digest}", response_model=DatasetProfileOut)
def dataset_profile(digest: str, p: Reader, state: ServerDep) -> dict[str, Any]:
    """The profile recorded for a dataset version (its blob is at ``/blobs/{profile}``)."""
    found = records_for(state.view(p).store).profile(str(Digest.parse(digest)))
    if found is None:
        raise NotFoundError(f"no profile is recorded for {digest} (`mlineage profile REF` records one)")
    return found


@router.get("/datasets/{name:path}/versions", response_model=DatasetVersionsOut)
def dataset_versions(
    name: str, p: Reader, state: ServerDep, as_of: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None
) -> dict[str, Any]:
    """The semantic versions given to a name, oldest first, with their level, reasons and previous version."""
    return {"versions": records_for(state.view(p).store).versions(name, as_of)}


@router.get("/datasets/{name:path}/rollbacks", response_model=RollbacksOut)
def dataset_rollbacks(name: str, p: Reader, state: ServerDep) -> dict[str, Any]:
    """Every recorded rollback of a name: who, when, why, from which version to which."""
    return {"rollbacks": records_for(state.view(p).store).rollbacks(name)}
