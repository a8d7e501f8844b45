"""The freshness gate, in dbt's shape: ``warn_after`` / ``error_after`` as ``{count, period}`` against the
newest ``loaded_at`` value (or the artifact's recorded time), reporting ``max_loaded_at``, the age and a
status of ``pass``, ``warn`` or ``error``.

The clock is a parameter (``now``), so a test fixes it; the runner passes ``datetime.now(UTC)``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from .model import Check

PERIODS = {"minute": 60, "hour": 3600, "day": 86400}


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_time(text: str) -> datetime:
    return as_utc(datetime.fromisoformat(text))


def _seconds(duration: dict[str, Any] | None) -> float | None:
    return None if duration is None else float(duration["count"]) * PERIODS[duration["period"]]


def freshness_status(
    max_loaded_at: datetime,
    now: datetime,
    warn_after: dict[str, Any] | None,
    error_after: dict[str, Any] | None,
) -> tuple[str, float]:
    """(status, age in seconds): ``error`` past error_after, ``warn`` past warn_after, else ``pass``."""
    age = (as_utc(now) - as_utc(max_loaded_at)).total_seconds()
    error_s, warn_s = _seconds(error_after), _seconds(warn_after)
    if error_s is not None and age > error_s:
        return "error", age
    if warn_s is not None and age > warn_s:
        return "warn", age
    return "pass", age


def check_freshness(
    max_loaded_at: datetime | None, now: datetime, params: dict[str, Any], source: str
) -> list[Check]:
    """The freshness check; no thresholds in ``params`` means no checks (the gate then fails)."""
    warn_after, error_after = params.get("warn_after"), params.get("error_after")
    if warn_after is None and error_after is None:
        return []
    if max_loaded_at is None:
        return [
            Check(
                "freshness",
                "error",
                f"no {source} value to judge freshness by",
                {"max_loaded_at": None, "status": "error"},
            )
        ]
    status, age = freshness_status(max_loaded_at, now, warn_after, error_after)
    verdict = {"pass": "pass", "warn": "warn", "error": "fail"}[status]
    limits = ", ".join(f"{name} {d['count']} {d['period']}" for name, d in
                       (("warn after", warn_after), ("error after", error_after)) if d is not None)
    return [
        Check(
            "freshness",
            verdict,  # type: ignore[arg-type]
            f"{status}: max_loaded_at {max_loaded_at.isoformat()}, {limits}",
            {
                "max_loaded_at": max_loaded_at.isoformat(),
                "age_seconds": round(age, 3),
                "status": status,
                "source": source,
                "warn_after": warn_after,
                "error_after": error_after,
            },
        )
    ]


def max_loaded_at(column: Any) -> datetime | None:
    """The newest value of a timestamp, date or ISO-text Arrow column (text that does not parse is
    skipped)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        newest: datetime | None = None
        for text in pc.unique(column).to_pylist():
            try:
                moment = parse_time(text) if text else None
            except ValueError:
                continue
            if moment is not None and (newest is None or moment > newest):
                newest = moment
        return newest
    if pa.types.is_timestamp(column.type) or pa.types.is_date32(column.type):
        # as an integer: converting an Arrow timestamp scalar to Python asks for pandas (see tables.int_array)
        as_int = pa.int64() if pa.types.is_timestamp(column.type) else pa.int32()
        wide = pc.max(pc.cast(column, as_int)).as_py()
        if wide is None:
            return None
        if pa.types.is_date32(column.type):
            return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=wide)
        per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[column.type.unit]
        seconds, rest = divmod(wide, per_second)
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
            seconds=seconds, microseconds=rest * 1_000_000 // per_second)
    top = pc.max(column).as_py()
    if top is None:
        return None
    if isinstance(top, datetime):
        return as_utc(top)
    return as_utc(datetime(top.year, top.month, top.day))
