"""Semantic versions from a diff: which level a change calls for, its reasons, and the next number.

The rules, in order of weight (the highest level found wins, every reason is kept):

* **major**: a column removed or renamed, a type narrowed, a column that had no NULLs now has some, a file
  of a folder removed (readers of the old shape break);
* **minor**: rows added or removed, columns added, a type widened, files added (old readers keep working,
  there is more or less of it);
* **patch**: only values changed (same keys, same columns), or only the bytes (same rows, re-encoded);
* **none**: the same content.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..errors import ValidationError
from .model import Verdict

if TYPE_CHECKING:
    from .model import DatasetDiff, FolderDiff, TableDiff

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
LEVELS = ("none", "patch", "minor", "major")
FIRST = "1.0.0"


def parse(text: str) -> tuple[int, int, int]:
    m = SEMVER.match(text)
    if m is None:
        raise ValidationError(
            "version", f"{text!r} is not a semantic version", "write MAJOR.MINOR.PATCH, as 2.0.0"
        )
    return int(m[1]), int(m[2]), int(m[3])


def is_semver(text: str) -> bool:
    return SEMVER.match(text) is not None


def bump(previous: str | None, level: str) -> str:
    """The next version after ``previous`` for a change of ``level`` (the first version is 1.0.0)."""
    if previous is None:
        return FIRST
    major, minor, patch = parse(previous)
    if level == "major":
        return f"{major + 1}.0.0"
    if level == "minor":
        return f"{major}.{minor + 1}.0"
    if level == "patch":
        return f"{major}.{minor}.{patch + 1}"
    return previous


def later(a: str, b: str) -> bool:
    """True when version ``a`` comes after ``b``."""
    return parse(a) > parse(b)


class _Reasons:
    def __init__(self) -> None:
        self.level = "none"
        self.reasons: list[str] = []

    def add(self, level: str, reason: str) -> None:
        if LEVELS.index(level) > LEVELS.index(self.level):
            self.level = level
        self.reasons.append(f"{level}: {reason}")

    def verdict(self) -> Verdict:
        return Verdict(self.level, self.reasons)


def _rows(n: int) -> str:
    return f"{n:,} row{'s' if n != 1 else ''}"


def _table(r: _Reasons, t: TableDiff, where: str = "") -> None:
    s, rows = t.schema, t.rows
    for c in s.removed:
        r.add("major", f"{where}column {c.name!r} removed")
    for old, new in s.renamed:
        r.add("major", f"{where}column {old!r} renamed to {new!r}")
    for tc in s.types:
        if tc.narrowed:
            r.add("major", f"{where}column {tc.column!r} narrowed from {tc.old} to {tc.new}")
        else:
            r.add("minor", f"{where}column {tc.column!r} widened from {tc.old} to {tc.new}")
    for name in s.became_nullable:
        r.add("major", f"{where}column {name!r} has NULLs now (it had none)")
    for c in s.added:
        r.add("minor", f"{where}column {c.name!r} added ({c.type})")
    if rows.added:
        r.add("minor", f"{where}{_rows(rows.added)} added")
    if rows.removed:
        r.add("minor", f"{where}{_rows(rows.removed)} removed")
    if rows.changed:
        cells = ", ".join(f"{c} {n:,}" for c, n in rows.changed_cells.items() if n)
        r.add("patch", f"{where}{_rows(rows.changed)} changed ({cells})")
    for name in s.became_required:
        r.add("patch", f"{where}column {name!r} has no NULLs now")


def _folder(r: _Reasons, f: FolderDiff) -> None:
    for p in f.removed:
        r.add("major", f"file {p} removed")
    for p in f.added:
        r.add("minor", f"file {p} added")
    for p in f.modified:
        table = f.tables.get(p)
        if table is None:
            r.add("patch", f"file {p} modified")
        elif table.empty:
            r.add("patch", f"file {p} re-encoded (same rows and columns)")
        else:
            _table(r, table, f"{p}: ")


def verdict_of(diff: DatasetDiff) -> Verdict:
    """The level ``diff`` calls for and every reason (see the module docstring for the rules)."""
    r = _Reasons()
    if diff.kind == "table" and diff.table is not None:
        _table(r, diff.table)
        if r.level == "none" and not diff.same_bytes:
            r.add("patch", "bytes differ, rows and columns are the same")
    elif diff.kind == "folder" and diff.folder is not None:
        _folder(r, diff.folder)
    elif not diff.same_bytes:
        r.add("patch", "bytes differ")
    return r.verdict()
