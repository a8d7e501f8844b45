"""The app factory: the server's state, error handlers, the routers and the body limit — nothing else.

Handlers live in ``routers/`` (one module per topic); each parses input, calls the Client (restricted to the
caller's namespace by ``deps.ServerState.view``) and formats output. Errors are JSON
``{"error": {"type", "message", "field"}}`` with a 4xx status (``errors.py``); a 500 is a bug.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from .. import __version__
from ..errors import ConfigError
from ..sdk.client import Client
from .auth import TokenStore
from .blob_grants import BlobGrants
from .deps import ServerState
from .errors import install_error_handlers
from .fast_answers import CachedAnswers
from .head import FILE_ENV as HEAD_FILE_ENV
from .head import HeadSignal, LedgerHead
from .ingest import Inbox
from .limits import DEFAULT_MAX_BLOB, DEFAULT_MAX_BODY, BodyLimit
from .namespaces import NamespaceIndex
from .routers import ROUTERS


def create_app(store_uri: str, artifacts: str | Path, *, auth: bool = True, worker: bool = True,
               max_body: int = DEFAULT_MAX_BODY, max_blob: int = DEFAULT_MAX_BLOB,
               checkpoint_key: Path | None = None, checkpoint_seconds: float = 10.0, ui: bool = True) -> Any:
    """Build the ASGI app. ``auth=False`` treats every caller as an admin of all namespaces (one user).
    ``checkpoint_key``: the Ed25519 PEM file that signs checkpoints (default
    ``MLINEAGE_SERVER_CHECKPOINT_KEY``, else a key kept in the database; see ``checkpoint_log.py``), signed
    every ``checkpoint_seconds``. ``ui``: serve the web UI at ``/`` (``server/ui``)."""
    import os

    from ..stores.sql import SqlStore
    from .checkpoint_log import CheckpointLog, Signer

    client = Client.for_uri(store_uri, artifacts)
    if not isinstance(client.store, SqlStore):
        raise ConfigError("the server needs a SQL metadata store (sqlite:/// or postgresql://)")
    client.resolve_paths = False  # a ref is never a file on the server's disk (clients send digests)
    from ..webhooks import server_notifier

    client.webhooks = server_notifier()  # MLINEAGE_WEBHOOKS: delivered on a background thread
    engine = client.store.engine
    index = NamespaceIndex(engine)
    key_env = os.environ.get("MLINEAGE_SERVER_CHECKPOINT_KEY")
    checkpoints = CheckpointLog(engine, checkpoint_key or (Path(key_env) if key_env else None))
    store = client.store
    head = LedgerHead(lambda: store.graph_head(None)[0], HeadSignal(os.environ.get(HEAD_FILE_ENV)))
    store.after_append.append(head.moved)
    state = ServerState(client, TokenStore(engine, client.store), index, Inbox(client, index),
                        BlobGrants(engine), auth=auth, max_body=max_body, checkpoints=checkpoints, head=head)
    signer = Signer(checkpoints, client.store.head, checkpoint_seconds)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if worker:
            state.inbox.start()
        signer.start()
        yield
        signer.stop()
        state.inbox.stop()
        client.close()

    app = FastAPI(
        title="mlineage",
        version=__version__,
        lifespan=lifespan,
        description="HTTP API over the mlineage ledger: events, OpenLineage ingestion, lineage queries.",
    )
    app.state.server = state
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    if ui:
        from .ui import router as ui_router

        app.include_router(ui_router)
    wrapped: Any = CachedAnswers(BodyLimit(app, max_body, max_blob), state)
    wrapped.fastapi = app  # reachable for tests and the CLI
    return wrapped


def app_from_environment() -> Any:
    """The app for ``uvicorn --factory`` (what ``mlineage server --workers N`` starts in each process),
    configured from ``MLINEAGE_SERVER_STORE``, ``MLINEAGE_SERVER_ARTIFACTS``, ``MLINEAGE_SERVER_AUTH`` (1/0),
    ``MLINEAGE_SERVER_WORKER`` (1/0) and ``MLINEAGE_SERVER_MAX_BODY`` (bytes)."""
    import os

    env = os.environ
    return create_app(env["MLINEAGE_SERVER_STORE"], env["MLINEAGE_SERVER_ARTIFACTS"],
                      auth=env.get("MLINEAGE_SERVER_AUTH", "1") == "1",
                      worker=env.get("MLINEAGE_SERVER_WORKER", "1") == "1",
                      max_body=int(env.get("MLINEAGE_SERVER_MAX_BODY", DEFAULT_MAX_BODY)))
