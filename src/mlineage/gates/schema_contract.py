"""The schema contract gate: required columns, types, nullability, allowed values and ranges.

A small checker over PyArrow types rather than pandera: the data is already an Arrow table (read without
pandas), Arrow's types are the exact ones a Parquet file carries (``int32`` is not ``int64``), every check is
one vectorised ``pyarrow.compute`` call per column, and pandera would bring pandas and its own type system for
a contract this size. Results report counts of offending rows, never the offending values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .model import Check

if TYPE_CHECKING:
    import pyarrow as pa

# type families a contract may name instead of one exact Arrow type
FAMILIES = {
    "int": "is_integer",
    "integer": "is_integer",
    "float": "is_floating",
    "number": "_is_number",
    "string": "_is_string",
    "str": "_is_string",
    "bool": "is_boolean",
    "boolean": "is_boolean",
    "timestamp": "is_timestamp",
    "date": "is_date",
}


def type_matches(actual: pa.DataType, wanted: str) -> bool:
    import pyarrow as pa
    import pyarrow.types as t

    family = FAMILIES.get(wanted)
    if family == "_is_number":
        return bool(t.is_integer(actual) or t.is_floating(actual) or t.is_decimal(actual))
    if family == "_is_string":
        return bool(t.is_string(actual) or t.is_large_string(actual))
    if family is not None:
        return bool(getattr(t, family)(actual))
    try:
        return bool(actual == pa.type_for_alias(wanted))
    except ValueError:
        return str(actual) == wanted


def check_schema(
    table: pa.Table, columns: dict[str, dict[str, Any]], allow_extra: bool = True
) -> list[Check]:
    """One check per column rule (existence, type, nulls, allowed values, range, uniqueness)."""
    import pyarrow.compute as pc

    checks: list[Check] = []
    present = set(table.column_names)
    for name, rule in columns.items():
        if name not in present:
            if rule.get("required", True):
                checks.append(Check(f"{name}: present", "fail", f"column {name!r} is missing"))
            continue
        col = table.column(name)
        checks.append(Check(f"{name}: present", "pass", f"column {name!r} is present"))
        if "type" in rule:
            ok = type_matches(col.type, rule["type"])
            checks.append(
                Check(
                    f"{name}: type",
                    "pass" if ok else "fail",
                    f"{name} is {col.type}" + ("" if ok else f", the contract says {rule['type']}"),
                    {"type": str(col.type), "expected": rule["type"]},
                )
            )
        if rule.get("nullable") is False:
            nulls = col.null_count
            checks.append(
                Check(
                    f"{name}: not null",
                    "pass" if nulls == 0 else "fail",
                    f"{nulls} null value(s) in {name}",
                    {"nulls": nulls},
                )
            )
        if "allowed" in rule:
            # the column's distinct values and their counts, compared in Python (no Arrow array is built
            # from the policy's values: see tables.int_array); a null is outside the set
            allowed = set(rule["allowed"])
            counts = pc.value_counts(col)
            bad = sum(
                int(n)
                for v, n in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(),
                                strict=True)
                if v is None or v not in allowed
            )
            checks.append(
                Check(
                    f"{name}: allowed values",
                    "pass" if bad == 0 else "fail",
                    f"{bad} row(s) of {name} hold a value outside the allowed set",
                    {"outside": bad, "allowed": len(rule["allowed"])},
                )
            )
        if "min" in rule or "max" in rule:
            checks.append(_range_check(col, name, rule.get("min"), rule.get("max")))
        if rule.get("unique"):
            distinct = pc.count_distinct(col, mode="only_valid").as_py()
            dupes = (len(col) - col.null_count) - int(distinct)
            checks.append(
                Check(
                    f"{name}: unique",
                    "pass" if dupes == 0 else "fail",
                    f"{dupes} duplicate value(s) in {name}",
                    {"duplicates": dupes},
                )
            )
    if not allow_extra:
        extra = sorted(present - set(columns))
        checks.append(
            Check(
                "no extra columns",
                "pass" if not extra else "fail",
                f"{len(extra)} column(s) not in the contract" + (f": {', '.join(extra)}" if extra else ""),
                {"extra": extra},
            )
        )
    return checks


def _range_check(col: Any, name: str, low: float | None, high: float | None) -> Check:
    import pyarrow as pa
    import pyarrow.compute as pc

    from .tables import number_scalar

    try:  # a sum of booleans skips nulls
        below = int(pc.sum(pc.less(col, number_scalar(low))).as_py() or 0) if low is not None else 0
        above = int(pc.sum(pc.greater(col, number_scalar(high))).as_py() or 0) if high is not None else 0
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return Check(
            f"{name}: range",
            "fail",
            f"{name} ({col.type}) cannot be compared with a number",
            {"type": str(col.type)},
        )
    bad = below + above
    bounds = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
    return Check(
        f"{name}: range",
        "pass" if bad == 0 else "fail",
        f"{bad} row(s) of {name} outside {bounds}",
        {"below": below, "above": above},
    )
