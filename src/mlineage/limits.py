"""Size limits, one setting shared by the SDK, the local stores and the server.

A param or tag is a small value that describes a run; bulk (a config file, a vocabulary, a prompt set) belongs
in the artifact store, where it is content-addressed and deduplicated. One limit for each value, refused at
the call that logs it, keeps the ledger small and means a run never learns at shipping time that the server
refuses what the SDK accepted: the server's request-body limit is derived from the same setting, so any event
the SDK accepts fits in a request.

``MLINEAGE_MAX_VALUE_BYTES`` (default 64 KiB) sets the limit; set it to the same value for clients and server.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError, ValidationError

DEFAULT_MAX_VALUE_BYTES = 64 * 1024
VALUES_PER_EVENT = 16  # the params of one event together may hold this many full-size values
EVENTS_PER_BODY = 16  # a request body holds at least this many full-size events
ENV = "MLINEAGE_MAX_VALUE_BYTES"
_SCALARS = frozenset((float, int, bool, type(None)))  # counted as 8 bytes (``_encoded_size``)


def max_value_bytes() -> int:
    """The largest param or tag value, in bytes of its JSON encoding."""
    configured = os.environ.get(ENV)
    if not configured:
        return DEFAULT_MAX_VALUE_BYTES
    if not configured.isdigit() or int(configured) < 1:
        raise ConfigError(f"{ENV}={configured!r} is not a positive number of bytes; fix or unset it")
    return int(configured)


def max_event_values_bytes() -> int:
    """The largest total of the values one event carries (all the params logged in one call)."""
    return max_value_bytes() * VALUES_PER_EVENT


def max_body_bytes() -> int:
    """The server's request-body limit (derived, so that any event the SDK accepts fits in a request)."""
    return max_event_values_bytes() * EVENTS_PER_BODY


def check_value_sizes(values: Mapping[str, Any], where: str) -> None:
    """Refuse a value over the limit, naming it and saying to log it as an artifact instead."""
    limit = max_value_bytes()
    total = 0
    for key, value in values.items():
        if type(value) in _SCALARS and key.isascii():  # the usual param, inline: every run's params pass here
            size = len(key) + 8
        else:
            size = len(key.encode("utf-8", "surrogatepass")) + _encoded_size(value)
        total += size
        if size > limit:
            raise ValidationError(
                f"{where}.{key}",
                f"is {size} bytes, over the {limit}-byte limit for a value",
                "log it as an artifact instead (run.produce(path) or run.use(path)); "
                f"{ENV} raises the limit for client and server alike",
            )
    if total > limit * VALUES_PER_EVENT:
        raise ValidationError(
            where,
            f"{total} bytes in one call, over the {limit * VALUES_PER_EVENT}-byte limit",
            "log fewer values per call, or log bulk as an artifact instead",
        )


def _encoded_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass")) + 2
    if value is None or isinstance(value, (bool, int, float)):
        return 8
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8",
                                                                                              "surrogatepass"))
