"""The schema half of a diff, from two column lists: added, removed, renamed, type and nullability changes.

Pure: the engine counts NULLs and finds which removed/added column pairs hold identical values; this module
decides what those facts mean. A type change is *narrowing* when the new type cannot hold every value of
the old one (BIGINT -> INTEGER, DOUBLE -> BIGINT, VARCHAR -> anything): that breaks readers, a widening
(INTEGER -> BIGINT, BIGINT -> DOUBLE, anything -> VARCHAR) does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .model import Column, SchemaDiff, TypeChange

# Within one family a later type holds every value of an earlier one.
_INTEGERS = ["TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"]
_UNSIGNED = ["UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"]
_FLOATS = ["FLOAT", "DOUBLE"]
_TEXT = "VARCHAR"


def _base(type_name: str) -> str:
    return type_name.split("(")[0].strip().upper()


def _rank(type_name: str) -> tuple[str, int] | None:
    t = _base(type_name)
    for family, members in (("int", _INTEGERS), ("uint", _UNSIGNED), ("float", _FLOATS)):
        if t in members:
            return family, members.index(t)
    return None


def is_numeric(type_name: str) -> bool:
    return _rank(type_name) is not None or _base(type_name) == "DECIMAL"


def narrows(old: str, new: str) -> bool:
    """True when a value of type ``old`` may not fit ``new``."""
    if old == new or _base(new) == _TEXT:
        return False
    a, b = _rank(old), _rank(new)
    if a and b:
        if a[0] == b[0]:
            return b[1] < a[1]
        if (
            b[0] == "float"
        ):  # any integer into DOUBLE (precision past 2**53 aside), not into FLOAT from 64 bits
            return a[1] >= 3 and b[1] == 0
        if a[0] == "uint" and b[0] == "int":  # unsigned into a strictly wider signed type
            return b[1] <= a[1]
        return True  # float -> int, int -> uint
    return True  # across unrelated families (VARCHAR -> INTEGER, DATE -> TIMESTAMP is left to the reader)


def schema_diff(
    a: Sequence[Column], b: Sequence[Column], renames: Iterable[tuple[str, str]] = ()
) -> SchemaDiff:
    """Compare two column lists; ``renames`` are the (removed, added) pairs found to hold identical values."""
    by_a = {c.name: c for c in a}
    by_b = {c.name: c for c in b}
    out = SchemaDiff()
    renamed = [(o, n) for o, n in renames if o in by_a and n in by_b and o not in by_b and n not in by_a]
    gone, new = {o for o, _ in renamed}, {n for _, n in renamed}
    out.renamed = renamed
    out.removed = [c for c in a if c.name not in by_b and c.name not in gone]
    out.added = [c for c in b if c.name not in by_a and c.name not in new]
    pairs = [(c, by_b[c.name]) for c in a if c.name in by_b] + [(by_a[o], by_b[n]) for o, n in renamed]
    for old, cur in pairs:
        if old.type != cur.type:
            out.types.append(TypeChange(cur.name, old.type, cur.type, narrows(old.type, cur.type)))
        if old.nulls is not None and cur.nulls is not None:
            if old.nulls == 0 and cur.nulls > 0:
                out.became_nullable.append(cur.name)
            elif old.nulls > 0 and cur.nulls == 0:
                out.became_required.append(cur.name)
    return out


def rename_candidates(a: Sequence[Column], b: Sequence[Column]) -> list[tuple[str, str]]:
    """(removed, added) column pairs of the same type: the ones worth comparing value by value."""
    names_a, names_b = {c.name for c in a}, {c.name for c in b}
    removed = [c for c in a if c.name not in names_b]
    added = [c for c in b if c.name not in names_a]
    return [(r.name, n.name) for r in removed for n in added if r.type == n.type]


def pick_renames(
    candidates: Sequence[tuple[str, str]], identical: Iterable[tuple[str, str]]
) -> list[tuple[str, str]]:
    """One rename per column: the first identical pair in candidate order wins, each side used once."""
    same = set(identical)
    used_old: set[str] = set()
    used_new: set[str] = set()
    out = []
    for old, new in candidates:
        if (old, new) in same and old not in used_old and new not in used_new:
            out.append((old, new))
            used_old.add(old)
            used_new.add(new)
    return out
