"""Request body limits, enforced before a handler reads the body (HTTP 413).

The JSON body limit derives from the value-size setting the SDK enforces (``mlineage.limits``), so any event
the SDK accepts fits in a request."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..limits import max_body_bytes

DEFAULT_MAX_BODY = max_body_bytes()
DEFAULT_MAX_BLOB = 256 * 1024 * 1024


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``max_body`` (``max_blob`` for blob uploads)."""

    def __init__(self, app: Any, max_body: int, max_blob: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_blob = max_blob

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
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
    body = json.dumps(
        {
            "error": {
                "type": "PayloadTooLarge",
                "field": "body",
                "message": f"request body is over the {limit} byte limit; send smaller batches",
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
