"""Checks that a value can live in the ledger: finite JSON scalars, lists and string-keyed objects only.

The ledger hashes canonical JSON, so anything JSON cannot represent exactly (NaN, objects, bytes, tuples
that would come back as lists) is refused at the door with the path to the offending value.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import ValidationError

MAX_DEPTH = 32


def check_json_value(value: Any, where: str, depth: int = 0) -> None:
    """Raise ValidationError naming the path of the first value the ledger cannot hold.

    Every event payload passes through here, so the common case (all valid) walks the value without
    building path strings; only when something is wrong is it walked again to say where."""
    if not _valid(value, depth):
        _explain(value, where, depth)


def _valid(value: Any, depth: int) -> bool:
    if depth > MAX_DEPTH:
        return False
    if value is None or isinstance(value, (bool, str)):
        return True
    if isinstance(value, int):
        return abs(value) <= 2**53
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_valid(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _valid(item, depth + 1) for key, item in value.items())
    return False


def _explain(value: Any, where: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValidationError(where, f"nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        if abs(value) > 2**53:
            raise ValidationError(where, f"integer {value} is too large for JSON", "pass it as a string")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(where, f"{value!r} is not a finite number", "log finite values only")
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _explain(item, f"{where}[{i}]", depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(where, f"key {key!r} is a {type(key).__name__}", "use string keys")
            _explain(item, f"{where}.{key}", depth + 1)
        return
    raise ValidationError(
        where,
        f"a {type(value).__name__} cannot be recorded",
        "use str, int, float, bool, None, or lists/dicts of those",
    )


def check_params(params: Any, where: str = "params") -> dict[str, Any]:
    """Params as the ledger holds them: JSON values within the shared size limit (``limits.py``)."""
    if not isinstance(params, dict):
        raise ValidationError(where, f"expected a dict, got {type(params).__name__}")
    check_json_value(params, where)
    from .limits import check_value_sizes

    check_value_sizes(params, where)
    return dict(params)


def check_metric(key: Any, value: Any, where: str = "metrics") -> float:
    if not isinstance(key, str) or not key:
        raise ValidationError(where, f"metric name {key!r} must be a non-empty string")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:  # numpy scalars and friends
            value = float(value)
        except (TypeError, ValueError):
            raise ValidationError(
                f"{where}.{key}", f"{type(value).__name__} is not a number", "log ints or floats"
            ) from None
    number = float(value)
    if not math.isfinite(number):
        raise ValidationError(f"{where}.{key}", f"{number!r} is not a finite number")
    return number
