"""The FastAPI application: parse input, call the Client, format output — nothing else.

Every handler runs on a per-request Client view restricted to the caller's namespace (``NamespacedStore``),
so queries are the CLI's own (``Client.lineage`` / ``LineageResult.to_dict``), not a second implementation.
Errors are JSON ``{"error": {"type", "message", "field"}}`` with a 4xx status; a 500 is a bug.
"""


import hashlib
import json
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi import Path as FPath
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from .. import __version__
from ..erasure import PAYLOAD_ERASED
from ..errors import (
    AmbiguousRefError,
    ConfigError,
    CycleError,
    LedgerError,
    MlineageError,
    NotFoundError,
    StoreUnavailableError,
    ValidationError,
)
from ..events import SCHEMA_VERSION, NewEvent, StoredEvent, new_id, utc_now, validate
from ..interop import openlineage as ol
from ..model import Digest, NodeKind, NodeRef
from ..render import artifact_to_dict, run_to_dict
from ..sdk.client import Client
from .auth import LOCAL_ADMIN, AuthError, ForbiddenError, Principal, TokenStore
from .ingest import Inbox
from .namespaces import NamespacedStore, NamespaceIndex, tag_actor

log = logging.getLogger("mlineage.server")

DEFAULT_MAX_BODY = 16 * 1024 * 1024
DEFAULT_MAX_BLOB = 256 * 1024 * 1024
MAX_BATCH = 10_000
MAX_NODE_ID = 2**31 - 1  # nodes.id is a 32-bit integer column
MAX_SEQ = 2**62
NodeId = Annotated[int, Field(ge=0, le=MAX_NODE_ID)]

# ------------------------------------------------------------------ wire models


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


class NodeIdsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    node_ids: list[NodeId] = Field(max_length=100_000)


class AdjacentIn(NodeIdsIn):
    direction: str = Field(pattern="^(up|down)$")
    as_of_seq: int | None = Field(default=None, ge=0, le=MAX_SEQ)


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(min_length=1, max_length=3)
    namespace: str = Field(min_length=1, max_length=100)


def _plain(value: Any) -> Any:
    """JSON for what the graph engine hands back: numpy scalars and arrays become Python numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _json(value: Any) -> Response:
    return Response(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_plain),
                    media_type="application/json")


def _stored_to_dict(e: StoredEvent) -> dict[str, Any]:
    return {"seq": e.seq, "id": e.id, "type": e.type, "v": e.v, "ts": e.ts, "actor": e.actor,
            "payload": e.payload, "payload_sha256": e.payload_sha256, "prev_hash": e.prev_hash, "hash": e.hash}


# ------------------------------------------------------------------ errors


def _error(status: int, type_: str, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse({"error": {"type": type_, "message": message, "field": field}}, status_code=status)


class PayloadTooLarge(MlineageError):
    """A request body over the server's limit (HTTP 413)."""


_STATUS: list[tuple[type[Exception], int]] = [
    (AuthError, 401), (ForbiddenError, 403), (PayloadTooLarge, 413), (ValidationError, 400),
    (AmbiguousRefError, 409),
    (NotFoundError, 404), (CycleError, 409), (LedgerError, 409), (ConfigError, 400),
    (StoreUnavailableError, 503),
]


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(MlineageError)
    async def _mlineage(_request: Request, exc: MlineageError) -> JSONResponse:
        status = next((code for cls, code in _STATUS if isinstance(exc, cls)), 400)
        field = exc.field if isinstance(exc, ValidationError) else None
        response = _error(status, type(exc).__name__, str(exc), field)
        if status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    import rfc8785

    @app.exception_handler(rfc8785.CanonicalizationError)
    async def _canonical(_request: Request, exc: Exception) -> JSONResponse:
        return _error(400, "ValidationError", f"payload: {exc} (numbers must fit an IEEE double exactly)",
                      "payload")

    @app.exception_handler(OverflowError)
    async def _overflow(_request: Request, exc: OverflowError) -> JSONResponse:
        return _error(400, "ValidationError", f"a number is too large for the store: {exc}")

    from sqlalchemy.exc import DataError

    @app.exception_handler(DataError)
    async def _data(_request: Request, exc: DataError) -> JSONResponse:
        return _error(400, "ValidationError", f"the store refused a value: {str(exc.orig).splitlines()[0]}")

    @app.exception_handler(LookupError)
    async def _lookup(_request: Request, exc: LookupError) -> JSONResponse:
        return _error(404, "NotFoundError", str(exc).strip("'\""))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":
            return _error(400, "ValidationError", f"malformed JSON: {first.get('ctx', {}).get('error', '')}", "body")
        loc = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return _error(422, "ValidationError", f"{loc or 'body'}: {first.get('msg', 'invalid request')}", loc or None)


class _BodyLimit:
    """Refuse request bodies over a size limit (413) before a handler reads them."""

    def __init__(self, app: Any, max_body: int, max_blob: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_blob = max_blob

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_blob if scope["path"].startswith("/api/v1/blobs/") else self.max_body
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_413(send, limit)
            return
        seen = 0
        too_big = False

        async def limited() -> Any:
            nonlocal seen, too_big
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    too_big = True
                    return {"type": "http.disconnect"}
            return message

        started = False

        async def guarded_send(message: Any) -> None:
            nonlocal started
            if too_big and not started:
                started = True
                await _send_413(send, limit)
                return
            if too_big:
                return
            started = True
            await send(message)

        await self.app(scope, limited, guarded_send)


async def _send_413(send: Callable[..., Any], limit: int) -> None:
    body = json.dumps({"error": {"type": "PayloadTooLarge", "field": "body",
                                 "message": f"request body is over the {limit} byte limit; send smaller batches"}}
                      ).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


# ------------------------------------------------------------------ the app


def create_app(store_uri: str, artifacts: str | Path, *, auth: bool = True, worker: bool = True,
               max_body: int = DEFAULT_MAX_BODY, max_blob: int = DEFAULT_MAX_BLOB,
               checkpoint_key: Path | None = None, checkpoint_seconds: float = 10.0) -> Any:
    """Build the ASGI app. ``auth=False`` treats every caller as an admin of all namespaces (one user).
    ``checkpoint_key``: the Ed25519 PEM file that signs checkpoints (default ``MLINEAGE_SERVER_CHECKPOINT_KEY``,
    else a key kept in the database; see ``checkpoint_log.py``), signed every ``checkpoint_seconds``."""
    client = Client.for_uri(store_uri, artifacts)
    if not hasattr(client.store, "engine"):
        raise ConfigError("the server needs a SQL metadata store (sqlite:/// or postgresql://)")
    engine = client.store.engine
    tokens = TokenStore(engine)
    index = NamespaceIndex(engine)
    inbox = Inbox(client, index)
    from .checkpoint_log import CheckpointLog, Signer

    key_env = os.environ.get("MLINEAGE_SERVER_CHECKPOINT_KEY")
    checkpoints = CheckpointLog(engine, checkpoint_key or (Path(key_env) if key_env else None))
    signer = Signer(checkpoints, client.store.head, checkpoint_seconds)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        index.catch_up()
        if worker:
            inbox.start()
        signer.start()
        yield
        signer.stop()
        inbox.stop()
        client.close()

    app = FastAPI(title="mlineage", version=__version__, lifespan=lifespan,
                  description="HTTP API over the mlineage ledger: events, OpenLineage ingestion, lineage queries.")
    app.state.client = client
    app.state.tokens = tokens
    app.state.index = index
    app.state.inbox = inbox
    _install_errors(app)
    bearer = HTTPBearer(auto_error=False)

    def principal(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
        if not auth:
            return LOCAL_ADMIN
        if credentials is None or not credentials.credentials:
            raise AuthError("missing API token: send 'Authorization: Bearer <token>'")
        return tokens.authenticate(credentials.credentials)

    def needs(scope: str) -> Callable[..., Principal]:
        def dependency(p: Annotated[Principal, Depends(principal)]) -> Principal:
            p.require(scope)
            return p
        return dependency

    Reader = Annotated[Principal, Depends(needs("read"))]
    Writer = Annotated[Principal, Depends(needs("write"))]
    Admin = Annotated[Principal, Depends(needs("admin"))]

    views: dict[str, Client] = {}

    def view(p: Principal) -> Client:
        """The Client as the caller's namespace sees it (cached, so its graph snapshot stays warm)."""
        if p.sees_all:
            return client
        found = views.get(p.namespace)
        if found is None:
            store = NamespacedStore(client.store, index, p.namespace)
            found = views[p.namespace] = Client(client.settings, store=store,
                                                blobs=client.blobs)
        return found

    def check_erasures(checked: list[NewEvent], p: Principal) -> None:
        """Authorising the removal of a payload is an admin's act (see ``mlineage.erasure``)."""
        if any(e.type == PAYLOAD_ERASED for e in checked) and not (p.sees_all and "admin" in p.scopes):
            raise ForbiddenError("a PayloadErased event needs an admin token for all namespaces ('*')")

    def append(batch: list[EventIn], p: Principal) -> dict[str, Any]:
        checked = [validate(NewEvent(e.type, e.payload, e.id or new_id(), e.ts or utc_now(),
                                     tag_actor(e.actor, p), e.v)) for e in batch]
        check_erasures(checked, p)
        index.check_writes(checked, p)
        stored = client.append(checked)  # the Client: redaction and stamping as for every writer
        index.record(stored)
        return {"accepted": len(stored), "duplicates": len(checked) - len(stored),
                "head_seq": stored[-1].seq if stored else client.store.head()[0],
                "events": [{"id": e.id, "seq": e.seq, "hash": e.hash} for e in stored]}

    # ---------------------------------------------------------------- meta

    @app.get("/api/v1/health", tags=["meta"])
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    @app.get("/api/v1/whoami", tags=["meta"])
    def whoami(p: Reader) -> dict[str, Any]:
        return {"token": p.name, "scopes": sorted(p.scopes), "namespace": p.namespace}

    # ---------------------------------------------------------------- events

    @app.post("/api/v1/events", tags=["events"], status_code=200)
    def append_one(event: EventIn, p: Writer) -> dict[str, Any]:
        """Append one event (idempotent by id)."""
        return append([event], p)

    @app.post("/api/v1/events/batch", tags=["events"], status_code=200)
    def append_batch(batch: EventBatch, p: Writer, wait: bool = True) -> Any:
        """Append a batch atomically: all of it or none; ids already in the ledger are skipped.

        ``wait=false``: validate and queue the batch durably (202), and let the worker chain and project it
        (see /ingestion for the lag). Graph errors (an unknown run...) then show up there, not here."""
        if wait:
            return append(batch.events, p)
        checked = [validate(NewEvent(e.type, e.payload, e.id or new_id(), e.ts or utc_now(),
                                     tag_actor(e.actor, p), e.v)) for e in batch.events]
        check_erasures(checked, p)
        index.check_writes(checked, p)
        queued, dupes = inbox.accept_native(checked, p.write_namespace)
        return JSONResponse({"queued": queued, "duplicates": dupes}, status_code=202)

    @app.get("/api/v1/events", tags=["events"])
    def list_events(p: Reader, after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
                    limit: Annotated[int, Query(ge=1, le=5000)] = 1000) -> dict[str, Any]:
        """Raw ledger events (a token for all namespaces only: the ledger spans every team)."""
        if not p.sees_all:
            raise ForbiddenError("reading the raw ledger needs a token for all namespaces ('*')")
        out = []
        for e in client.store.iter_events(after_seq, batch=limit):
            out.append(_stored_to_dict(e))
            if len(out) >= limit:
                break
        return {"events": out}

    @app.get("/api/v1/head", tags=["events"])
    def head(p: Reader) -> dict[str, Any]:
        seq, hash_ = client.store.head()
        return {"seq": seq, "hash": hash_}

    @app.get("/api/v1/verify", tags=["events"])
    def verify(p: Reader, projections: bool = False) -> dict[str, Any]:
        """Walk the hash chain, then check the ledger still holds the newest signed checkpoint.
        ``projections=true`` (a token for all namespaces) also replays the ledger into scratch tables and
        compares them with the live ones, naming the first differing row."""
        from ..checkpoints import against_checkpoint

        report = against_checkpoint(client.verify(), checkpoints.latest_checkpoint(), client.store).to_dict()
        if projections:
            if not p.sees_all:
                raise ForbiddenError("verifying the projections reads every namespace: it needs a token for '*'")
            from ..audit import compare_projections

            compared = compare_projections(client.store)
            report["projections"] = compared.to_dict()
            report["ok"] = report["ok"] and compared.ok
        return report

    # ---------------------------------------------------------------- signed checkpoints

    @app.get("/api/v1/checkpoints/key", tags=["checkpoints"])
    def checkpoint_key_document() -> dict[str, Any]:
        """The public key that signs this server's checkpoints (Ed25519, raw 32 bytes in base64). Public:
        an auditor needs no token to check a signature."""
        return checkpoints.key_document()

    @app.get("/api/v1/checkpoints/latest", tags=["checkpoints"])
    def latest_checkpoint(p: Reader) -> dict[str, Any]:
        """A signed checkpoint of the current ledger head (signed now when the log is behind it)."""
        seq, hash_ = client.store.head()
        return checkpoints.sign(seq, hash_) if seq > 0 else {"seq": 0, "hash": hash_, "time": None, "signature": None}

    @app.get("/api/v1/checkpoints", tags=["checkpoints"])
    def list_checkpoints(p: Reader, after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
                         limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
        """The signed checkpoint log, oldest first."""
        return {"key_id": checkpoints.key_id, "checkpoints": checkpoints.entries(after_seq, limit)}

    @app.post("/api/v1/rebuild", tags=["events"])
    def rebuild(p: Admin) -> dict[str, Any]:
        if not p.sees_all:
            raise ForbiddenError("rebuild needs an admin token for all namespaces ('*')")
        return {"replayed": client.rebuild()}

    # ---------------------------------------------------------------- OpenLineage

    @app.post("/api/v1/lineage", tags=["openlineage"], status_code=201, openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}})
    async def openlineage_ingest(request: Request, p: Writer) -> JSONResponse:
        """Accept an OpenLineage RunEvent/DatasetEvent/JobEvent; projected asynchronously (see /ingestion)."""
        raw = await request.body()
        if request.headers.get("content-encoding", "").lower() == "gzip":  # the OpenLineage client's option
            import zlib

            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                raw = inflater.decompress(raw, max_body)
            except zlib.error as exc:
                raise ValidationError("body", f"malformed gzip body: {exc}") from None
            if inflater.unconsumed_tail:
                raise PayloadTooLarge(f"the decompressed body is over the {max_body} byte limit")
        try:
            doc = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValidationError("body", f"malformed JSON: {exc}") from None
        ol.validate_event(doc)
        import anyio.to_thread

        event_id, new = await anyio.to_thread.run_sync(inbox.accept, doc, p)
        return JSONResponse({"event_id": event_id, "status": "accepted" if new else "duplicate"},
                            status_code=201 if new else 200)

    @app.get("/api/v1/ingestion", tags=["openlineage"])
    def ingestion(p: Reader) -> dict[str, Any]:
        """Ingestion lag of the asynchronous projection."""
        return inbox.lag(None if p.sees_all else p.namespace)

    @app.get("/api/v1/runs/{run_id}/openlineage", tags=["openlineage"])
    def run_openlineage(run_id: str, p: Reader) -> dict[str, Any]:
        """The run as OpenLineage RunEvents (START and, if ended, its terminal event)."""
        c = view(p)
        run = c.store.get_run(run_id)
        if run is None:
            raise NotFoundError(f"run {run_id} is not recorded")
        inputs, outputs = c.store.io_of_run(run_id)
        return {"events": ol.run_to_events(run, [a for a, _ in inputs], [a for a, _ in outputs])}

    # ---------------------------------------------------------------- reads

    @app.get("/api/v1/artifacts", tags=["read"])
    def find_artifacts(p: Reader, prefix: Annotated[str, Query(max_length=80)] = "sha256:",
                       limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> dict[str, Any]:
        return {"artifacts": [artifact_to_dict(a) for a in view(p).store.find_artifacts(prefix, limit)]}

    @app.get("/api/v1/artifacts/{digest}", tags=["read"])
    def get_artifact(digest: str, p: Reader) -> dict[str, Any]:
        found = view(p).store.get_artifact(str(Digest.parse(digest)))
        if found is None:
            raise NotFoundError(f"artifact {digest} is not recorded")
        return artifact_to_dict(found)

    @app.get("/api/v1/artifacts/{digest}/producers", tags=["read"])
    def producers(digest: str, p: Reader) -> dict[str, Any]:
        return {"runs": [run_to_dict(r) for r in view(p).store.producers_of(str(Digest.parse(digest)))]}

    @app.get("/api/v1/versions/{name:path}", tags=["read"])
    def get_version(name: str, p: Reader, version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> dict[str, Any]:
        found = view(p).store.get_version(name, version)
        if found is None:
            raise NotFoundError(f"no artifact named {name!r}" + (f" at version {version}" if version else ""))
        return artifact_to_dict(found)

    @app.get("/api/v1/runs", tags=["read"])
    def list_runs(p: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 50, job: str | None = None,
                  status: str | None = None, prefix: str | None = None) -> dict[str, Any]:
        store = view(p).store
        found = store.find_runs(prefix, limit) if prefix else store.list_runs(limit=limit, job=job, status=status)
        return {"runs": [run_to_dict(r) for r in found]}

    @app.get("/api/v1/runs/{run_id}", tags=["read"])
    def get_run(run_id: str, p: Reader) -> dict[str, Any]:
        found = view(p).store.get_run(run_id)
        if found is None:
            raise NotFoundError(f"run {run_id} is not recorded")
        return run_to_dict(found)

    @app.get("/api/v1/runs/{run_id}/io", tags=["read"])
    def run_io(run_id: str, p: Reader) -> dict[str, Any]:
        inputs, outputs = view(p).store.io_of_run(run_id)
        return {"inputs": [dict(artifact_to_dict(a), role=r or None) for a, r in inputs],
                "outputs": [dict(artifact_to_dict(a), role=r or None) for a, r in outputs]}

    @app.get("/api/v1/runs/{run_id}/metrics/{key}", tags=["read"])
    def metric_history(run_id: str, key: str, p: Reader) -> dict[str, Any]:
        rows = view(p).store.metric_history(run_id, key)
        return {"history": [{"step": s, "value": v, "ts": t} for s, v, t in rows]}

    @app.get("/api/v1/counts", tags=["read"])
    def counts(p: Reader) -> dict[str, Any]:
        return view(p).store.counts()

    # ---------------------------------------------------------------- lineage queries (the core's own)

    def _lineage(ref: str, direction: str, p: Principal, depth: int | None, limit: int | None) -> Any:
        # the result is plain JSON already: skip FastAPI's (slow, for big graphs) jsonable_encoder pass
        return _json(view(p).lineage(ref, direction, depth=depth, limit=limit).to_dict())

    @app.get("/api/v1/trace", tags=["lineage"])
    def trace(p: Reader, ref: Annotated[str, Query(min_length=1, max_length=400)],
              depth: Annotated[int | None, Query(ge=0, le=10**6)] = None,
              limit: Annotated[int | None, Query(ge=1, le=10**9)] = 100_000) -> Any:
        """All ancestors of REF (digest, prefix, run:<id>, name@version)."""
        return _lineage(ref, "up", p, depth, limit)

    @app.get("/api/v1/impact", tags=["lineage"])
    def impact(p: Reader, ref: Annotated[str, Query(min_length=1, max_length=400)],
               depth: Annotated[int | None, Query(ge=0, le=10**6)] = None,
               limit: Annotated[int | None, Query(ge=1, le=10**9)] = 100_000) -> Any:
        """All descendants of REF."""
        return _lineage(ref, "down", p, depth, limit)

    @app.get("/api/v1/path", tags=["lineage"])
    def path(p: Reader, source: Annotated[str, Query(min_length=1, max_length=400)],
             target: Annotated[str, Query(min_length=1, max_length=400)],
             max_paths: Annotated[int, Query(ge=1, le=1000)] = 20) -> Any:
        """The chain(s) of runs and artifacts between two nodes (`mlineage path --json`)."""
        return _json(view(p).path(source, target, max_paths=max_paths).to_dict())

    @app.get("/api/v1/closure", tags=["lineage"])
    def closure(p: Reader, ref: Annotated[str, Query(min_length=1, max_length=400)]) -> Any:
        """Every data, code and environment anchor needed to reproduce REF (`mlineage closure --json`)."""
        return _json(view(p).closure(ref).to_dict())

    @app.get("/api/v1/lineage-diff", tags=["lineage"])
    def lineage_diff(p: Reader, a: Annotated[str, Query(min_length=1, max_length=400)],
                     b: Annotated[str, Query(min_length=1, max_length=400)]) -> Any:
        """What differs between two models' ancestries (`mlineage lineage-diff --json`)."""
        return _json(view(p).lineage_diff(a, b).to_dict())

    @app.get("/api/v1/resolve", tags=["lineage"])
    def resolve(p: Reader, ref: Annotated[str, Query(min_length=1, max_length=400)]) -> dict[str, Any]:
        node = view(p).resolve(ref)
        return artifact_to_dict(node) if hasattr(node, "digest") else run_to_dict(node)  # type: ignore[arg-type]

    # graph primitives: what a remote Client's lineage walk needs (one round trip per level)

    @app.get("/api/v1/graph/node-id", tags=["graph"])
    def node_id(p: Reader, kind: Annotated[str, Query(pattern="^(artifact|run)$")],
                key: Annotated[str, Query(min_length=1, max_length=160)]) -> Any:
        return _json({"node_id": view(p).store.node_id(NodeRef(NodeKind(kind), key))})

    @app.post("/api/v1/graph/adjacent", tags=["graph"])
    def adjacent(body: AdjacentIn, p: Reader) -> Any:
        found = view(p).store.adjacent(body.node_ids, body.direction, body.as_of_seq)  # type: ignore[arg-type]
        return _json({"edges": [[e.source, e.target, e.type, e.role, e.seq] for e in found]})

    @app.post("/api/v1/graph/describe", tags=["graph"])
    def describe(body: NodeIdsIn, p: Reader) -> Any:
        found = view(p).store.describe(body.node_ids)
        return _json({"nodes": {str(k): (artifact_to_dict(v) if hasattr(v, "digest") else run_to_dict(v))  # type: ignore[arg-type]
                                for k, v in found.items()}})

    @app.get("/api/v1/graph/columns", tags=["graph"])
    def graph_columns(p: Reader, after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)],
                      upto_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)]) -> Any:
        cols = view(p).store.graph_columns(after_seq, upto_seq)
        return _json({"parent": cols.parent, "child": cols.child, "seq": cols.seq, "node_ids": cols.node_ids,
                      "node_kinds": cols.node_kinds, "last_node": getattr(cols, "last_node", None)})

    @app.get("/api/v1/graph/state", tags=["graph"])
    def graph_state(p: Reader, node_key: Annotated[str | None, Query(max_length=160)] = None) -> Any:
        head_seq, node = view(p).store.graph_state(node_key)
        return _json({"head": head_seq, "node_id": node})

    @app.get("/api/v1/graph/edge-count", tags=["graph"])
    def edge_count(p: Reader) -> Any:
        return _json({"estimate": view(p).store.edge_count_estimate()})

    @app.get("/api/v1/graph/nodes/{node_id}/created-seq", tags=["graph"])
    def node_created_seq(node_id: Annotated[int, FPath(ge=0, le=MAX_NODE_ID)], p: Reader) -> Any:
        return _json({"seq": view(p).store.node_created_seq(node_id)})

    @app.get("/api/v1/graph/seq-at", tags=["graph"])
    def seq_at(p: Reader, ts: Annotated[str, Query(min_length=1, max_length=40)]) -> Any:
        return _json({"seq": view(p).store.seq_at(ts)})

    @app.get("/api/v1/graph/reachable", tags=["graph"])
    def reachable(p: Reader, node_id: Annotated[int, Query(ge=0, le=MAX_NODE_ID)],
                  direction: Annotated[str, Query(pattern="^(up|down)$")],
                  as_of_seq: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
                  cap: Annotated[int | None, Query(ge=1, le=10**9)] = None) -> Any:
        return _json({"node_ids": view(p).store.reachable(node_id, direction, as_of_seq, cap)})  # type: ignore[arg-type]

    # ---------------------------------------------------------------- blobs

    @app.put("/api/v1/blobs/{digest}", tags=["blobs"], status_code=201, openapi_extra={
        "requestBody": {"required": True,
                        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
    async def put_blob(digest: str, request: Request, p: Writer) -> JSONResponse:
        """Upload a blob; its SHA-256 must match DIGEST (content addressing), or nothing is stored."""
        wanted = Digest.parse(digest)
        data = await request.body()
        actual = hashlib.sha256(data).hexdigest()
        if actual != wanted.hex:
            raise ValidationError("digest", f"the body hashes to sha256:{actual}, not {wanted}",
                                  "upload the bytes that match the digest")
        if client.blobs.has(wanted):
            return JSONResponse({"digest": str(wanted), "size": len(data), "stored": False}, status_code=200)
        import anyio.to_thread

        await anyio.to_thread.run_sync(client.blobs.put_bytes, data)
        return JSONResponse({"digest": str(wanted), "size": len(data), "stored": True}, status_code=201)

    @app.get("/api/v1/blobs/{digest}", tags=["blobs"], response_class=Response)
    def get_blob(digest: str, p: Reader) -> Response:
        """Download a blob by digest (the artifact must be visible to the token's namespace)."""
        wanted = Digest.parse(digest)
        if not p.sees_all and view(p).store.get_artifact(str(wanted)) is None:
            raise NotFoundError(f"artifact {wanted} is not recorded in namespace {p.namespace!r}")
        if not client.blobs.has(wanted):
            raise NotFoundError(f"no blob {wanted} in the artifact store: upload it with PUT first")
        with client.blobs.open(wanted) as handle:
            data = handle.read()
        return Response(data, media_type="application/octet-stream")

    # ---------------------------------------------------------------- tokens

    @app.post("/api/v1/tokens", tags=["admin"], status_code=201)
    def create_token(body: TokenIn, p: Admin) -> dict[str, Any]:
        if not p.sees_all and body.namespace != p.namespace:
            raise ForbiddenError(f"an admin of {p.namespace!r} can only create tokens for that namespace")
        token, record = tokens.create(body.name, body.scopes, body.namespace)
        return dict(record, token=token)

    @app.get("/api/v1/tokens", tags=["admin"])
    def list_tokens(p: Admin) -> dict[str, Any]:
        found = tokens.list()
        return {"tokens": [t for t in found if p.sees_all or t["namespace"] == p.namespace]}

    @app.delete("/api/v1/tokens/{token_id}", tags=["admin"])
    def revoke_token(token_id: str, p: Admin) -> dict[str, Any]:
        visible = {t["id"]: t for t in tokens.list() if p.sees_all or t["namespace"] == p.namespace}
        if token_id not in visible:
            raise NotFoundError(f"no token with id {token_id!r}")
        return tokens.revoke(token_id)

    wrapped: Any = _BodyLimit(app, max_body, max_blob)
    wrapped.fastapi = app  # reachable for tests and the CLI
    return wrapped


def app_from_environment() -> Any:
    """The app for ``uvicorn --factory`` (what ``mlineage server --workers N`` starts in each process),
    configured from ``MLINEAGE_SERVER_STORE``, ``MLINEAGE_SERVER_ARTIFACTS``, ``MLINEAGE_SERVER_AUTH`` (1/0),
    ``MLINEAGE_SERVER_WORKER`` (1/0) and ``MLINEAGE_SERVER_MAX_BODY`` (bytes)."""
    import os

    env = os.environ
    return create_app(env["MLINEAGE_SERVER_STORE"], env["MLINEAGE_SERVER_ARTIFACTS"],
                      auth=env.get("MLINEAGE_SERVER_AUTH", "1") == "1", worker=env.get("MLINEAGE_SERVER_WORKER", "1") == "1",
                      max_body=int(env.get("MLINEAGE_SERVER_MAX_BODY", DEFAULT_MAX_BODY)))
