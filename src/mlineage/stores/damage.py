"""Recognising a damaged SQLite database file, so that every entry point says so in one line.

A database file that was truncated, overwritten or hit by a disk fault makes SQLite raise ``file is not a
database`` or ``database disk image is malformed`` from whichever statement first touches the damage: on
open, or deep inside a query. That is not a bug to show a traceback for; it is a state the user must act on,
and what helps is named here once: restore the file from a backup, check an export kept elsewhere, and know
that ``rebuild`` cannot help (it rebuilds the projections from the ledger, which lives in the same file).
"""

from __future__ import annotations

from ..errors import DamagedStoreError

__all__ = ["DamagedStoreError", "damage_of", "damaged_store_error"]

_SIGNS = (
    "file is not a database",
    "database disk image is malformed",
    "file is encrypted or is not a database",
)


def damage_of(exc: BaseException) -> str | None:
    """SQLite's words for the damage when ``exc`` (or what caused it, or the driver error it wraps) reports a
    damaged database file; None for any other error."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        text = str(current).lower()
        for sign in _SIGNS:
            if sign in text:
                return sign
        todo.extend([getattr(current, "orig", None), current.__cause__, current.__context__])
    return None


def damaged_store_error(database: str, reason: str) -> DamagedStoreError:
    return DamagedStoreError(
        f"the metadata store {database} is damaged ({reason}): restore it from a backup, then run `mlineage "
        "verify`; an export kept elsewhere can be checked with `mlineage verify --file EXPORT`; `mlineage "
        "rebuild` "
        "cannot help (the ledger it replays is in the same file)"
    )
