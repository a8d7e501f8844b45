"""How one batch of a metric's values is stored in a ``metric_batches`` row (pure: no I/O).

Steps and values are packed as little-endian int64 and float64 arrays: packing is far cheaper than
formatting floats as text (``repr``), and a float64 keeps every value exactly. Timestamps are free-form
strings in the ledger: when they all have the same length (the SDK's always do) they are stored concatenated
after that length (``27:...``), otherwise as a JSON array (``[...]``).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence

from ..errors import ValidationError

_MAX_STEP = 2**63 - 1


def pack_steps(steps: Sequence[int]) -> bytes:
    try:
        return struct.pack(f"<{len(steps)}q", *steps)
    except struct.error:
        raise ValidationError("metrics.step", f"must be at most {_MAX_STEP}") from None


def pack_values(values: Sequence[float]) -> bytes:
    return struct.pack(f"<{len(values)}d", *values)


def pack_timestamps(stamps: Sequence[str]) -> str:
    widths = set(map(len, stamps))
    if len(widths) == 1:
        return f"{widths.pop()}:{''.join(stamps)}"
    return json.dumps(stamps, ensure_ascii=False, separators=(",", ":"))


def unpack_timestamps(packed: str) -> list[str]:
    if packed.startswith("["):
        return list(json.loads(packed))
    width_text, _, joined = packed.partition(":")
    width = int(width_text)
    if width == 0:
        raise ValueError("a metric timestamp is never empty")
    return [joined[start:start + width] for start in range(0, len(joined), width)]


def unpack(steps: bytes, values: bytes, stamps: str) -> list[tuple[int, float, str]]:
    """(step, value, timestamp) in the order stored."""
    steps, values = bytes(steps), bytes(values)  # PostgreSQL drivers may hand back a memoryview
    return list(
        zip(
            struct.unpack(f"<{len(steps) // 8}q", steps),
            struct.unpack(f"<{len(values) // 8}d", values),
            unpack_timestamps(stamps),
            strict=True,
        )
    )
