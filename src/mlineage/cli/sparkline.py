"""A one-line chart of a series in Unicode block characters, for a metric's history in a terminal."""

from __future__ import annotations

from collections.abc import Sequence

BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int = 40) -> str:
    """``values`` drawn as at most ``width`` blocks, low to high; a long series is averaged in buckets so
    every value counts. A flat series is a flat line."""
    if not values:
        return ""
    if len(values) > width:
        bucket = len(values) / width
        values = [_mean(values[int(i * bucket): max(int((i + 1) * bucket), int(i * bucket) + 1)])
                  for i in range(width)]
    low, high = min(values), max(values)
    if high == low:
        return BLOCKS[3] * len(values)
    scale = (len(BLOCKS) - 1) / (high - low)
    return "".join(BLOCKS[round((v - low) * scale)] for v in values)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)
