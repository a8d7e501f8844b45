"""Health and identity."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ... import __version__
from ..deps import Reader
from ..models import ERRORS, HealthOut, WhoAmIOut

router = APIRouter(prefix="/api/v1", tags=["meta"], responses=ERRORS)


@router.get("/health", response_model=HealthOut)
def health() -> dict[str, Any]:
    return {"status": "ok", "version": __version__}


@router.get("/whoami", response_model=WhoAmIOut)
def whoami(p: Reader) -> dict[str, Any]:
    return {"token": p.name, "scopes": sorted(p.scopes), "namespace": p.namespace}
