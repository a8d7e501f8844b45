"""The API's routers, one per topic; ``ROUTERS`` is what the app factory includes, in this order."""

from __future__ import annotations

from fastapi import APIRouter

from . import (
    admin,
    blobs,
    checkpoints,
    datasets,
    events,
    explore,
    gates,
    lineage,
    llm,
    meta,
    openlineage,
    query,
    read,
    registry,
    reproduce,
    serving,
)

ROUTERS: list[APIRouter] = [meta.router, events.router, checkpoints.router, openlineage.router, read.router,
                            lineage.router, query.router, gates.router, blobs.router, admin.router,
                            datasets.router, reproduce.router, llm.router, registry.router,
                            explore.router, serving.router]

__all__ = ["ROUTERS"]
