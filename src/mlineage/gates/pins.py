"""Row count and digest pins: a dataset must have N rows (or a number within a range) and/or a given digest.

Pure: the caller counts the rows (from the table it read, or from Parquet metadata) and passes the digest.
"""

from __future__ import annotations

from typing import Any

from .model import Check


def check_pins(params: dict[str, Any], digest: str, rows: int | None) -> list[Check]:
    """One check per pin in ``params`` (``rows``, ``min_rows``/``max_rows``, ``digest``); none: no checks."""
    checks: list[Check] = []
    if "digest" in params:
        ok = digest == params["digest"]
        checks.append(
            Check(
                "digest",
                "pass" if ok else "fail",
                "the digest matches the pin"
                if ok
                else f"the digest is {digest[:19]}..., the pin is {params['digest'][:19]}...",
                {"digest": digest, "expected": params["digest"]},
            )
        )
    if any(k in params for k in ("rows", "min_rows", "max_rows")):
        if rows is None:
            checks.append(Check("rows", "error", "the artifact is not tabular data: no rows to count"))
            return checks
        low = params.get("rows", params.get("min_rows"))
        high = params.get("rows", params.get("max_rows"))
        ok = (low is None or rows >= low) and (high is None or rows <= high)
        wanted = (
            str(low)
            if low == high
            else f"[{low if low is not None else 0}, {high if high is not None else 'inf'}]"
        )
        checks.append(
            Check(
                "rows",
                "pass" if ok else "fail",
                f"{rows} rows, the pin is {wanted}",
                {"rows": rows, "min": low, "max": high},
            )
        )
    return checks
