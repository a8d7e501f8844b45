"""Dataset versions over HTTP: the semantic versions, profiles and rollbacks of the caller's namespace, so
a remote Client (``datasets/records.py``) reads what an embedded one reads from its projections; and the diff
of two recorded versions (``Client.dataset_diff``, computed on the server from its blobs), which the web UI's
artifact page shows against the version before."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict

from ...datasets.records import records_for
from ...errors import NotFoundError
from ...model import Digest
from ..answers import answer
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


class DatasetDiffOut(_Open):
    """``mlineage diff A B --json``: the sides, the schema and row diff (or a folder's), the semver level."""

    a: dict[str, Any]
    b: dict[str, Any]
    kind: str
    same_bytes: bool
    empty: bool
    table: dict[str, Any] | None
    folder: dict[str, Any] | None
    verdict: dict[str, Any]


@router.get("/datasets/diff", response_model=DatasetDiffOut)
def dataset_diff(
    a: Annotated[str, Query(min_length=1, max_length=400)],
    b: Annotated[str, Query(min_length=1, max_length=400)],
    request: Request,
    p: Reader,
    state: ServerDep,
    key: Annotated[list[str] | None, Query(max_length=32)] = None,
    samples: Annotated[int, Query(ge=0, le=50)] = 5,
) -> Any:
    """The diff of two recorded dataset versions (REFs), read from the server's blobs: schema, rows (by
    ``key`` or by content) and the semantic-version level it calls for, with its reasons."""

    def compute(c: Any) -> dict[str, Any]:
        from ...gates.api import artifact_of

        # each side resolved to a recorded version first: a ref is never read as a path on the server's disk
        sides = [str(artifact_of(c, ref).digest) for ref in (a, b)]
        found: dict[str, Any] = c.dataset_diff(*sides, key=key, samples=samples).to_dict()
        return found

    return answer(request, state, p, "datasets/diff", (a, b, tuple(key or ()), samples), compute)


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
