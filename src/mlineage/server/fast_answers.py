"""Cached lineage answers served straight from ASGI, before FastAPI.

A team's dashboards and scripts ask the same ``trace``/``impact`` again and again, and while the ledger head
stays put the answer is stored bytes (``query_cache.py``). Going through FastAPI for them costs more than
the answer itself: routing, the dependency graph (token, scope, server state), validating the query
parameters with pydantic, and a hop to the thread pool for the sync endpoint. This layer answers a request
whose answer is already cached with the same checks done by hand, on the event loop: the token (remembered
like ``ServerState.authenticate`` does), the ``read`` scope, the ledger head (``head.py``: a client that
just appended still sees its write) and the cache key ``answers.py`` uses.

Anything it is not sure about (no token, a refused one, a parameter FastAPI would reject or parse
differently, a cache miss) goes to FastAPI untouched, which computes, stores and reports errors as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from .auth import LOCAL_ADMIN, Principal
from .deps import ServerState
from .query_cache import Answer

# path -> the cache's name for it (answers.py keys lineage answers by this, with (ref, depth, limit))
_ROUTES = {"/api/v1/trace": "trace", "/api/v1/impact": "impact"}
_DEFAULT_LIMIT = 100_000
_MAX_REF = 400
_JSON = (b"content-type", b"application/json")
_GZIP = ((b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding"))


def _count(text: str, low: int, high: int) -> int | None:
    """A bounded query integer written plainly (ASCII digits); None for anything else."""
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        return None
    value = int(text)
    return value if low <= value <= high else None


def lineage_params(query_string: bytes) -> tuple[str, int | None, int] | None:
    """(ref, depth, limit) as the ``trace``/``impact`` routes read them, or None unless every parameter is
    one of those, given once and plainly valid."""
    try:
        pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True, strict_parsing=True,
                          encoding="utf-8", errors="strict")
    except (ValueError, UnicodeDecodeError):
        return None
    found: dict[str, str] = {}
    for name, value in pairs:
        if name in found or name not in ("ref", "depth", "limit"):
            return None
        found[name] = value
    ref = found.get("ref")
    if ref is None or not 1 <= len(ref) <= _MAX_REF:
        return None
    depth = limit = None
    if "depth" in found and (depth := _count(found["depth"], 0, 10**6)) is None:
        return None
    if "limit" in found and (limit := _count(found["limit"], 1, 10**9)) is None:
        return None
    return ref, depth, _DEFAULT_LIMIT if limit is None else limit


class CachedAnswers:
    """ASGI middleware: answer a GET ``trace``/``impact`` from the query cache, or pass it on."""

    def __init__(self, app: Any, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any],
                       send: Callable[..., Any]) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and self.state.cache.enabled:
            what = _ROUTES.get(scope["path"])
            found = self._cached(scope, what) if what is not None else None
            if found is not None:
                await self._send(scope, found, send)
                return
        await self.app(scope, receive, send)

    def _principal(self, headers: list[tuple[bytes, bytes]]) -> Principal | None:
        if not self.state.auth:
            return LOCAL_ADMIN
        for name, value in headers:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer" or not token:
                    return None
                try:
                    principal = self.state.authenticate(token)
                    principal.require("read")
                except Exception:  # noqa: BLE001 (FastAPI's path answers it with the proper error)
                    return None
                return principal
        return None

    def _cached(self, scope: dict[str, Any], what: str) -> Answer | None:
        params = lineage_params(scope.get("query_string", b""))
        if params is None:
            return None
        principal = self._principal(scope["headers"])
        if principal is None:
            return None
        try:
            head = self.state.ledger_head(self.state.view(principal))
        except Exception:  # noqa: BLE001 (a database error: FastAPI's path reports it as usual)
            return None
        return self.state.cache.peek((principal.namespace, head, what, params))

    @staticmethod
    async def _send(scope: dict[str, Any], found: Answer, send: Callable[..., Any]) -> None:
        gzip = found.gzipped is not None and any(
            name == b"accept-encoding" and b"gzip" in value for name, value in scope["headers"])
        body = found.gzipped if gzip and found.gzipped is not None else found.body
        headers = [(b"content-length", str(len(body)).encode()), _JSON, *(_GZIP if gzip else ())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
