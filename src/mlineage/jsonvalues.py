"""Checks that a value can live in the ledger: finite JSON scalars, lists and string-keyed objects only.

The ledger hashes canonical JSON, so anything JSON cannot represent exactly (NaN, objects, bytes, tuples
that would come back as lists) is refused at the door with the path to the offending value.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import ValidationError
from .limits import check_value_sizes

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


def integral_float_paths(value: Any, path: str = "") -> list[str]:
    """JSON pointers (RFC 6901) of the floats in ``value`` that canonical JSON writes as integers (``1.0``).

    The ledger hashes canonical JSON, where ``1.0`` and ``1`` are the same number; events record these paths
    beside the value so that what users see keeps the type they logged (``C=1.0``)."""
    if isinstance(value, float):
        return [path] if value.is_integer() else []
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return []
    found: list[str] = []
    for key, item in items:
        if isinstance(item, float):
            if item.is_integer():
                found.append(f"{path}/{_escaped(key)}")
        elif isinstance(item, (dict, list)):
            found += integral_float_paths(item, f"{path}/{_escaped(key)}")
    return found


def _escaped(key: Any) -> str:
    text = str(key)
    return text.replace("~", "~0").replace("/", "~1") if "~" in text or "/" in text else text


def _pointer_parts(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") if "~" in p else p for p in pointer.split("/")[1:]]


def _number_at(value: Any, pointer: str) -> bool:
    for part in _pointer_parts(pointer):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def float_paths(value: Any, given: Any, where: str) -> list[str]:
    """The integral-float paths of ``value``, with those an event already carries (a replayed canonical
    payload holds ``1`` where ``1.0`` was logged, so its recorded paths are kept); a given path must name a
    number in ``value``."""
    paths = set(integral_float_paths(value))
    if given is not None:
        if not isinstance(given, list) or not all(isinstance(p, str) and p.startswith("/") for p in given):
            raise ValidationError(where, "must be a list of JSON pointers (\"/key\")")
        for pointer in given:
            if not _number_at(value, pointer):
                raise ValidationError(where, f"{pointer} does not name a number in the params")
        paths.update(given)
    return sorted(paths)


def with_floats(value: Any, pointers: Any) -> Any:
    """A copy of ``value`` with the numbers at ``pointers`` (``integral_float_paths``) as floats again.
    Only the containers a pointer goes through are copied (the others are shared with ``value``): every
    run's params come through here, and most are flat."""
    if not pointers:
        return value
    if type(value) is dict and all(
            type(pointer) is str and "/" not in (name := pointer[1:]) and "~" not in name
            and type(value.get(name)) is float for pointer in pointers):
        return value  # floats already where the pointers say (the payload as logged, not read back)
    out = _shallow(value)
    copied = {id(out)}
    for pointer in pointers:
        parts = _pointer_parts(pointer)
        parent: Any = out
        try:
            for part in parts[:-1]:
                key: Any = int(part) if isinstance(parent, list) else part
                child = parent[key]
                if id(child) not in copied:
                    child = parent[key] = _shallow(child)
                    copied.add(id(child))
                parent = child
            last: Any = int(parts[-1]) if isinstance(parent, list) else parts[-1]
            if isinstance(parent[last], (int, float)) and not isinstance(parent[last], bool):
                parent[last] = float(parent[last])
        except (KeyError, IndexError, ValueError, TypeError):
            continue
    return out


def _shallow(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else list(value) if isinstance(value, list) else value
