"""The HTTP API's wire models: request bodies it accepts and the responses it documents.

Response models allow extra fields (``extra="allow"``) so they describe the documented shape in the OpenAPI
spec without dropping a field a newer core adds; the big lineage answers are serialized once by the core
(``to_dict``) and only documented here (``responses=``), never re-validated.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..events import SCHEMA_VERSION

MAX_BATCH = 10_000
MAX_SEQ = 2**62

# ------------------------------------------------------------------ requests


class EventIn(BaseModel):
    """One mlineage event as the SDK sends it; ``id`` (a UUID hex) makes retries idempotent."""

    model_config = ConfigDict(extra="forbid")
    type: str = Field(max_length=64)
    payload: dict[str, Any]
    id: str | None = Field(default=None, min_length=1, max_length=64)
    ts: str | None = Field(default=None, max_length=40)
    actor: str | None = Field(default=None, max_length=500)
    v: int = SCHEMA_VERSION


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[EventIn] = Field(max_length=MAX_BATCH)


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(min_length=1, max_length=3)
    namespace: str = Field(min_length=1, max_length=100)


# ------------------------------------------------------------------ responses


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorDetail(BaseModel):
    type: str = Field(
        description="the exception class name in mlineage.errors, e.g. NotFoundError, CycleError"
    )
    message: str
    field: str | None = None
    detail: dict[str, Any] | None = Field(default=None, description="an ambiguous ref's candidates")


class ErrorOut(BaseModel):
    """Every 4xx answer: ``{"error": {"type", "message", "field"}}``."""

    error: ErrorDetail


class HealthOut(_Open):
    status: str
    version: str


class WhoAmIOut(_Open):
    token: str
    scopes: list[str]
    namespace: str


class AppendedEvent(_Open):
    """What the ledger stored for one event (the server tags ``actor`` with the writer's namespace)."""

    id: str
    seq: int
    hash: str
    prev_hash: str | None = None
    payload_sha256: str | None = None
    ts: str | None = None
    actor: str | None = None


class AppendOut(_Open):
    accepted: int
    duplicates: int
    head_seq: int
    events: list[AppendedEvent]


class QueuedOut(_Open):
    queued: int
    duplicates: int


class StoredEventOut(_Open):
    seq: int
    id: str
    type: str
    v: int
    ts: str
    actor: str | None = None
    payload: dict[str, Any]
    payload_sha256: str
    prev_hash: str
    hash: str


class EventsOut(_Open):
    events: list[StoredEventOut]


class HeadOut(_Open):
    seq: int
    hash: str | None = None


class RebuildOut(_Open):
    replayed: int


class ArtifactOut(_Open):
    type: str = "artifact"
    digest: str
    kind: str
    name: str | None = None
    version: int | None = None
    size: int | None = None
    media_type: str | None = None
    uri: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: str | None = None


class RoleArtifactOut(ArtifactOut):
    role: str | None = None


class RunOut(_Open):
    type: str = "run"
    id: str
    job: str
    kind: str
    status: str
    params: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    agent: str | None = None
    error: Any = None
    started_at: str | None = None
    ended_at: str | None = None


class HasChildrenOut(_Open):
    has_children: bool


class ArtifactsOut(_Open):
    artifacts: list[ArtifactOut]


class RunsOut(_Open):
    runs: list[RunOut]


class LastSeenOut(_Open):
    last_seen: str | None = None


class NamedVersionOut(_Open):
    artifact: ArtifactOut
    seq: int
    recorded_at: str
    actor: str | None = None


class NamedVersionsOut(_Open):
    versions: list[NamedVersionOut]


class NamesOut(_Open):
    names: list[str]


class RunIOOut(_Open):
    inputs: list[RoleArtifactOut]
    outputs: list[RoleArtifactOut]


class MetricPoint(BaseModel):
    step: int | None = None
    value: float | None = None
    ts: str | None = None


class MetricHistoryOut(_Open):
    history: list[MetricPoint]


class OpenLineageEventsOut(_Open):
    events: list[dict[str, Any]]


class IngestedOut(_Open):
    event_id: str
    status: str = Field(description="accepted, or duplicate for an event id seen before")


class IngestionLagOut(_Open):
    pending: int


class EdgeOut(BaseModel):
    parent: str
    child: str
    type: str
    role: str | None = None


class LineageOut(_Open):
    """``trace``/``impact`` as ``mlineage trace --json`` prints it (docs/lineage-queries.md)."""

    root: str
    direction: str
    query: dict[str, Any]
    count: int
    reachable: int | None = None
    truncated: list[str]
    engine: str
    nodes: list[dict[str, Any]]
    edges: list[EdgeOut]


class PathOut(_Open):
    """``mlineage path --json``."""

    found: bool
    paths: list[list[str]]
    nodes: list[dict[str, Any]]
    edges: list[EdgeOut]


class ReproducibleOut(_Open):
    """``mlineage reproducible --json``: ``root``, ``recursive``, ``reproducible``, ``reasons`` and each
    judged run's terms with their evidence."""


class ReuseLookupOut(_Open):
    """A run-reuse look-up: ``key``, ``terms``, ``hit`` (a run id or null), ``outputs``, ``nearest``,
    ``differing`` (the terms a miss differed in) and ``reason``."""


class ClosureOut(_Open):
    """``mlineage closure --json``."""

    root: str
    reproducible: bool
    missing: list[str]
    anchors: list[dict[str, Any]]
    intermediates: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    truncated: list[str]


class LineageDiffOut(_Open):
    """``mlineage lineage-diff --json``."""

    a: str
    b: str
    same: int
    differences: list[dict[str, Any]]
    truncated: list[str]


class BlobStoredOut(_Open):
    digest: str
    size: int
    stored: bool


class TokenOut(_Open):
    id: str
    name: str
    scopes: list[str]
    namespace: str


class CreatedTokenOut(TokenOut):
    token: str = Field(description="the secret, shown once")


class TokensOut(_Open):
    tokens: list[TokenOut]


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 409, 413, 422, 503)
}
