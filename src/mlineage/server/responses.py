"""JSON bodies the core already made plain: serialized once, without FastAPI's ``jsonable_encoder`` pass."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import Response


def _plain(value: Any) -> Any:
    """JSON for what the graph engine hands back: numpy scalars and arrays become Python numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_plain).encode("utf-8")


def json_response(value: Any) -> Response:
    return Response(json_bytes(value), media_type="application/json")
