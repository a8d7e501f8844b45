"""What every route depends on: the server's state, the caller (token → ``Principal``) and its namespace view.

Routers take these as FastAPI dependencies (``Reader``, ``Writer``, ``Admin``, ``ServerDep``), so a handler
states in its signature which scope it needs and gets a Client restricted to the caller's namespace.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..blobs.protocol import BlobStore
from ..sdk.client import Client
from .auth import LOCAL_ADMIN, AuthError, Principal, TokenStore
from .blob_grants import BlobGrants, NamespacedBlobs
from .checkpoint_log import CheckpointLog
from .head import LedgerHead
from .ingest import Inbox
from .namespaces import NamespacedStore, NamespaceIndex
from .query_cache import QueryCache

TOKEN_TTL_S = 1.0


@dataclass
class ServerState:
    """One per app: the Client over the server's store, tokens, the namespace index, the ingestion inbox,
    the blob grants and the cache of query answers."""

    client: Client
    tokens: TokenStore
    index: NamespaceIndex
    inbox: Inbox
    grants: BlobGrants
    auth: bool = True
    max_body: int = 16 * 1024 * 1024
    checkpoints: CheckpointLog | None = None  # the signed checkpoint log (``checkpoint_log.py``)
    cache: QueryCache = field(default_factory=QueryCache)
    head: LedgerHead | None = None  # the head the cache keys answers by (``head.py``); None: ask the store
    _views: dict[str, Client] = field(default_factory=dict)
    _principals: dict[str, tuple[Principal, float]] = field(default_factory=dict)

    def authenticate(self, token: str) -> Principal:
        """The token's principal. With the query cache on, a token checked in the last ``TOKEN_TTL_S``
        seconds is not looked up again (a revoked token stops working within that time on every process;
        at once on the process that revoked it)."""
        if not self.cache.enabled:
            return self.tokens.authenticate(token)
        now = time.monotonic()
        found = self._principals.get(token)
        if found is not None and now - found[1] < TOKEN_TTL_S:
            return found[0]
        principal = self.tokens.authenticate(token)
        if len(self._principals) > 10_000:
            self._principals.clear()
        self._principals[token] = (principal, now)
        return principal

    def ledger_head(self, view: Client) -> int:
        """The ledger head that keys the caller's cached answers."""
        return self.head.current() if self.head is not None else view.store.graph_head(None)[0]

    def blobs(self, p: Principal) -> BlobStore:
        """The artifact store as the caller sees it: every blob for a ``*`` token, else its grants."""
        return self.view(p).blobs

    def forget_tokens(self) -> None:
        self._principals.clear()

    def view(self, p: Principal) -> Client:
        """The Client as the caller's namespace sees it (cached, so its graph snapshot stays warm): its
        records, and the blobs it proved it has (``blob_grants.py``)."""
        if p.sees_all:
            return self.client
        found = self._views.get(p.namespace)
        if found is None:
            store = NamespacedStore(self.client.store, self.index, p.namespace)
            blobs = NamespacedBlobs(self.client.blobs, self.grants, p.namespace)
            found = self._views[p.namespace] = Client(self.client.settings, store=store, blobs=blobs)
            found.resolve_paths = False
        return found


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.server
    return state


ServerDep = Annotated[ServerState, Depends(server_state)]

_bearer = HTTPBearer(auto_error=False)


SESSION_COOKIE = "mlineage_session"  # the web UI's login keeps the token here (``server/ui``)
_SAFE_METHODS = frozenset({"GET", "HEAD"})


def principal(request: Request, state: ServerDep,
              credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    """The caller: every caller is an admin of all namespaces when auth is off (one user).

    The token comes from the ``Authorization`` header, or for a read (GET) from the web UI's session cookie
    (HttpOnly, SameSite=Strict); a write always needs the header, so a page on another site cannot make a
    logged-in browser write."""
    if not state.auth:
        return LOCAL_ADMIN
    if credentials is not None and credentials.credentials:
        return state.authenticate(credentials.credentials)
    cookie = request.cookies.get(SESSION_COOKIE) if request.method in _SAFE_METHODS else None
    if cookie:
        return state.authenticate(cookie)
    raise AuthError("missing API token: send 'Authorization: Bearer <token>'")


def needs(scope: str) -> Callable[..., Principal]:
    """A dependency that admits a caller holding ``scope`` (admin implies write implies read)."""
    def dependency(p: Annotated[Principal, Depends(principal)]) -> Principal:
        p.require(scope)
        return p
    return dependency


Reader = Annotated[Principal, Depends(needs("read"))]
Writer = Annotated[Principal, Depends(needs("write"))]
Admin = Annotated[Principal, Depends(needs("admin"))]
