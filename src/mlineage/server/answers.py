"""Query answers as HTTP responses: computed by the caller's Client view, serialized once, and served from
the query cache while the ledger head stays put (``query_cache.py``)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from ..sdk.client import Client
from .auth import Principal
from .deps import ServerState
from .responses import json_bytes


def answer(request: Request, state: ServerState, p: Principal, what: str, params: Hashable,
           compute: Callable[[Client], dict[str, Any]], *, cacheable: bool = True) -> Response:
    """``compute(client)``'s JSON for the caller, cached by (namespace, ledger head, ``what``, ``params``)
    when ``cacheable`` (an answer that depends on more than the ledger, like blob presence, is not); gzipped
    for a client that accepts it."""
    client = state.view(p)
    if not (cacheable and state.cache.enabled):
        return Response(json_bytes(compute(client)), media_type="application/json")
    head = client.store.graph_head(None)[0]

    def run() -> tuple[bytes, bool]:
        # final for every namespace: the namespace index is written in the same transaction as the events
        return json_bytes(compute(client)), True

    found = state.cache.get((p.namespace, head, what, params), run)
    if found.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        return Response(found.gzipped, media_type="application/json",
                        headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
    return Response(found.body, media_type="application/json")
