"""Query answers as HTTP responses: computed by the caller's Client view, serialized once, and served from
the query cache while the ledger head stays put (``query_cache.py``). A lineage answer too large to hold as
one document is streamed page by page instead (and not cached)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import Any

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from ..graph.query import LineageResult, dict_key
from ..sdk.client import Client
from .auth import Principal
from .deps import ServerState
from .responses import json_bytes

STREAM_MIN_NODES = 20_000  # above this a lineage answer is streamed (a node record is ~400 bytes of JSON)


class _Streamed(Exception):
    """Raised out of the cache's compute step: the answer is too large to keep; stream it."""

    def __init__(self, result: LineageResult) -> None:
        self.result = result


def answer(
    request: Request,
    state: ServerState,
    p: Principal,
    what: str,
    params: Hashable,
    compute: Callable[[Client], dict[str, Any] | LineageResult],
    *,
    cacheable: bool = True,
) -> Response:
    """``compute(client)``'s JSON for the caller, cached by (namespace, ledger head, ``what``, ``params``)
    when ``cacheable`` (an answer that depends on more than the ledger, like blob presence, is not); gzipped
    for a client that accepts it; a lineage result of more than ``STREAM_MIN_NODES`` nodes is streamed."""
    client = state.view(p)

    def serialize() -> bytes:
        found = compute(client)
        if isinstance(found, LineageResult):
            if found.count + 1 > STREAM_MIN_NODES:
                raise _Streamed(found)
            found = found.to_dict()
        return json_bytes(found)

    try:
        if not (cacheable and state.cache.enabled):
            return Response(serialize(), media_type="application/json")
        head = state.ledger_head(client)

        def run() -> tuple[bytes, bool]:
            # final for every namespace: the namespace index is written in the same transaction as the events
            return serialize(), True

        found = state.cache.get((p.namespace, head, what, params), run)
    except _Streamed as big:
        return StreamingResponse(lineage_json(big.result), media_type="application/json")
    if found.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        return Response(found.gzipped, media_type="application/json",
                        headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
    return Response(found.body, media_type="application/json")


def lineage_json(result: LineageResult, page_size: int = 2000) -> Iterator[bytes]:
    """``result.to_dict()`` as compact JSON, page by page: node records are read and encoded a page at a time,
    so a million-node answer never exists as one document in the server's memory."""
    header = result.header()
    yield json_bytes(header)[:-1] + b',"nodes":['
    ids = result.id_list()
    keys: dict[int, str] = {}
    for offset in range(0, len(ids), page_size):
        page = result.page(offset, page_size)
        for node_id, node in zip(ids[offset: offset + page_size], page, strict=True):
            keys[node_id] = dict_key(node)
        yield (b"," if offset else b"") + b",".join(json_bytes(n) for n in page)
    yield b'],"edges":['
    edges = result.edges
    for start in range(0, len(edges), page_size):
        chunk = [{"parent": keys[p], "child": keys[c], "type": t, "role": r or None}
                 for p, c, t, r in edges[start: start + page_size]]
        yield (b"," if start else b"") + b",".join(json_bytes(e) for e in chunk)
    yield b"]}"
