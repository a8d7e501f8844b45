"""Records by key: artifacts, versions, runs, their inputs and outputs, metric history, counts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ...errors import NotFoundError
from ...model import Digest
from ...refs import find_run
from ...render import artifact_to_dict, run_to_dict
from ..deps import Reader, ServerDep
from ..models import (
    ERRORS,
    ArtifactOut,
    ArtifactsOut,
    HasChildrenOut,
    LastSeenOut,
    MetricHistoryOut,
    NamedVersionsOut,
    NamesOut,
    RunIOOut,
    RunOut,
    RunsOut,
)

router = APIRouter(prefix="/api/v1", tags=["read"], responses=ERRORS)


@router.get("/artifacts", response_model=ArtifactsOut)
def find_artifacts(p: Reader, state: ServerDep, prefix: Annotated[str, Query(max_length=80)] = "sha256:",
                   limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> dict[str, Any]:
    return {"artifacts": [artifact_to_dict(a) for a in state.view(p).store.find_artifacts(prefix, limit)]}


@router.get("/artifacts/{digest}", response_model=ArtifactOut)
def get_artifact(digest: str, p: Reader, state: ServerDep) -> dict[str, Any]:
    found = state.view(p).store.get_artifact(str(Digest.parse(digest)))
    if found is None:
        raise NotFoundError(f"artifact {digest} is not recorded")
    return artifact_to_dict(found)


@router.get("/artifacts/{digest}/producers", response_model=RunsOut)
def producers(digest: str, p: Reader, state: ServerDep) -> dict[str, Any]:
    return {"runs": [run_to_dict(r) for r in state.view(p).store.producers_of(str(Digest.parse(digest)))]}


@router.get("/artifacts/{digest}/consumers", response_model=RunsOut)
def consumers(digest: str, p: Reader, state: ServerDep) -> dict[str, Any]:
    """The runs that used the artifact."""
    return {"runs": [run_to_dict(r) for r in state.view(p).store.consumers_of(str(Digest.parse(digest)))]}


@router.get("/names", response_model=NamesOut)
def find_names(p: Reader, state: ServerDep, prefix: Annotated[str, Query(max_length=400)] = "",
               limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> dict[str, Any]:
    """Artifact names starting with ``prefix`` (type-ahead)."""
    return {"names": state.view(p).store.find_names(prefix, limit)}


@router.get("/names/{name:path}/versions", response_model=NamedVersionsOut)
def list_versions(name: str, p: Reader, state: ServerDep) -> dict[str, Any]:
    """Every version of a name, oldest first, with who recorded each label and when."""
    return {
        "versions": [
            {
                "artifact": artifact_to_dict(v.artifact),
                "seq": v.seq,
                "recorded_at": v.recorded_at,
                "actor": v.actor,
            }
            for v in state.view(p).store.list_versions(name)
        ]
    }


@router.get("/artifacts/{digest}/has-children", response_model=HasChildrenOut)
def has_children(digest: str, p: Reader, state: ServerDep) -> dict[str, Any]:
    """Whether anything used or derived from the artifact (in any namespace: what a cycle check needs)."""
    return {"has_children": state.view(p).store.has_children(str(Digest.parse(digest)))}


@router.get("/versions/{name:path}", response_model=ArtifactOut)
def get_version(name: str, p: Reader, state: ServerDep,
                version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> dict[str, Any]:
    found = state.view(p).store.get_version(name, version)
    if found is None:
        raise NotFoundError(f"no artifact named {name!r}" + (f" at version {version}" if version else ""))
    return artifact_to_dict(found)


@router.get("/runs", response_model=RunsOut)
def list_runs(p: Reader, state: ServerDep, limit: Annotated[int, Query(ge=1, le=1000)] = 50,
              job: str | None = None, status: str | None = None, prefix: str | None = None) -> dict[str, Any]:
    store = state.view(p).store
    found = store.find_runs(prefix, limit) if prefix else store.list_runs(limit=limit, job=job, status=status)
    return {"runs": [run_to_dict(r) for r in found]}


@router.get("/runs/{run_id}", response_model=RunOut)
def get_run(run_id: str, p: Reader, state: ServerDep) -> dict[str, Any]:
    """The run with this id, or with this unique id prefix (409 with the candidates when several match)."""
    return run_to_dict(find_run(state.view(p).store, run_id))


@router.get("/runs/{run_id}/last-seen", response_model=LastSeenOut)
def last_seen(run_id: str, p: Reader, state: ServerDep) -> dict[str, Any]:
    """When the run last showed it was alive (its latest event or heartbeat)."""
    store = state.view(p).store
    return {"last_seen": store.last_seen(find_run(store, run_id).id)}


@router.get("/runs/{run_id}/io", response_model=RunIOOut)
def run_io(run_id: str, p: Reader, state: ServerDep) -> dict[str, Any]:
    store = state.view(p).store
    inputs, outputs = store.io_of_run(find_run(store, run_id).id)
    return {"inputs": [dict(artifact_to_dict(a), role=r or None) for a, r in inputs],
            "outputs": [dict(artifact_to_dict(a), role=r or None) for a, r in outputs]}


@router.get("/runs/{run_id}/metrics/{key}", response_model=MetricHistoryOut)
def metric_history(run_id: str, key: str, p: Reader, state: ServerDep) -> dict[str, Any]:
    store = state.view(p).store
    rows = store.metric_history(find_run(store, run_id).id, key)
    return {"history": [{"step": s, "value": v, "ts": t} for s, v, t in rows]}


@router.get("/counts", response_model=dict[str, int])
def counts(p: Reader, state: ServerDep) -> dict[str, Any]:
    return state.view(p).store.counts()
