"""The value objects of a dataset diff: columns, the schema diff, the row diff, a folder's file changes and
the whole answer. Pure data with ``to_dict``/``from_dict``, so the CLI's ``--json``, the server and the
recorded version events all carry the same shape."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # the engine's type name (DuckDB's: BIGINT, DOUBLE, VARCHAR, ...)
    nulls: int | None = None  # how many rows hold NULL (None: not counted)


@dataclass(frozen=True)
class TypeChange:
    column: str
    old: str
    new: str
    narrowed: bool  # values of the new type cannot hold every value of the old one


@dataclass
class SchemaDiff:
    added: list[Column] = field(default_factory=list)
    removed: list[Column] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (old name, new name)
    types: list[TypeChange] = field(default_factory=list)
    became_nullable: list[str] = field(default_factory=list)  # had no NULL before, has some now
    became_required: list[str] = field(default_factory=list)  # had NULLs before, has none now

    @property
    def empty(self) -> bool:
        return not (
            self.added
            or self.removed
            or self.renamed
            or self.types
            or self.became_nullable
            or self.became_required
        )

    def mirrored(self) -> SchemaDiff:
        """The same diff seen from the other side (B against A)."""
        return SchemaDiff(
            added=list(self.removed),
            removed=list(self.added),
            renamed=[(new, old) for old, new in self.renamed],
            types=[TypeChange(t.column, t.new, t.old, not t.narrowed and t.old != t.new) for t in self.types],
            became_nullable=list(self.became_required),
            became_required=list(self.became_nullable),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": [asdict(c) for c in self.added],
            "removed": [asdict(c) for c in self.removed],
            "renamed": [{"old": o, "new": n} for o, n in self.renamed],
            "types": [asdict(t) for t in self.types],
            "became_nullable": self.became_nullable,
            "became_required": self.became_required,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SchemaDiff:
        return cls(
            [Column(**c) for c in d.get("added", [])],
            [Column(**c) for c in d.get("removed", [])],
            [(r["old"], r["new"]) for r in d.get("renamed", [])],
            [TypeChange(**t) for t in d.get("types", [])],
            list(d.get("became_nullable", [])),
            list(d.get("became_required", [])),
        )


@dataclass
class RowDiff:
    """Rows compared by key (``mode == "key"``) or by content hash (``"content"``: a multiset of rows)."""

    mode: str
    key: list[str]
    rows_a: int
    rows_b: int
    added: int
    removed: int
    changed: int = 0  # by key only: same key, some value differs
    changed_cells: dict[str, int] = field(default_factory=dict)  # column -> rows whose value changed
    compared: list[str] = field(default_factory=list)  # the columns both sides share (renames mapped)
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # added/removed/changed rows

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def mirrored(self) -> RowDiff:
        changed = [
            {"key": s["key"], "values": {c: [v[1], v[0]] for c, v in s["values"].items()}}
            for s in self.samples.get("changed", [])
        ]
        samples = {
            "added": self.samples.get("removed", []),
            "removed": self.samples.get("added", []),
            "changed": changed,
        }
        return RowDiff(
            self.mode,
            self.key,
            self.rows_b,
            self.rows_a,
            self.removed,
            self.added,
            self.changed,
            dict(self.changed_cells),
            list(self.compared),
            samples,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RowDiff:
        return cls(**d)


@dataclass
class TableDiff:
    schema: SchemaDiff
    rows: RowDiff
    format_a: str
    format_b: str
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.schema.empty and self.rows.empty

    def mirrored(self) -> TableDiff:
        return TableDiff(
            self.schema.mirrored(), self.rows.mirrored(), self.format_b, self.format_a, list(self.notes)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_a": self.format_a,
            "format_b": self.format_b,
            "schema": self.schema.to_dict(),
            "rows": self.rows.to_dict(),
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TableDiff:
        return cls(
            SchemaDiff.from_dict(d["schema"]),
            RowDiff.from_dict(d["rows"]),
            d["format_a"],
            d["format_b"],
            list(d.get("notes", [])),
        )


@dataclass
class FolderDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    tables: dict[str, TableDiff] = field(default_factory=dict)  # a modified tabular file -> its diff

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.modified)

    def mirrored(self) -> FolderDiff:
        return FolderDiff(
            list(self.removed),
            list(self.added),
            list(self.modified),
            {p: t.mirrored() for p, t in self.tables.items()},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "removed": self.removed,
            "modified": self.modified,
            "tables": {p: t.to_dict() for p, t in self.tables.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FolderDiff:
        return cls(
            list(d["added"]),
            list(d["removed"]),
            list(d["modified"]),
            {p: TableDiff.from_dict(t) for p, t in d.get("tables", {}).items()},
        )


@dataclass(frozen=True)
class Side:
    """What one side of a diff is: the ref as given, and the recorded version it names if any."""

    ref: str
    digest: str | None = None
    name: str | None = None
    version: int | None = None
    semver: str | None = None
    size: int | None = None

    @property
    def label(self) -> str:
        if self.name and self.semver:
            return f"{self.name}@{self.semver}"
        if self.name and self.version:
            return f"{self.name}@{self.version}"
        return self.ref


@dataclass
class Verdict:
    """The semantic-version level a diff calls for, and why."""

    level: str  # "major" | "minor" | "patch" | "none"
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "reasons": self.reasons}


@dataclass
class DatasetDiff:
    """The whole answer of ``mlineage diff A B``: exactly one of ``table``, ``folder``, or the bytes."""

    a: Side
    b: Side
    kind: str  # "table" | "folder" | "bytes"
    same_bytes: bool
    table: TableDiff | None = None
    folder: FolderDiff | None = None
    verdict: Verdict = field(default_factory=lambda: Verdict("none"))

    @property
    def empty(self) -> bool:
        if self.kind == "table":
            return self.table is not None and self.table.empty
        if self.kind == "folder":
            return self.folder is not None and self.folder.empty
        return self.same_bytes

    def mirrored(self) -> DatasetDiff:
        from .semver import verdict_of

        out = DatasetDiff(
            self.b,
            self.a,
            self.kind,
            self.same_bytes,
            self.table.mirrored() if self.table else None,
            self.folder.mirrored() if self.folder else None,
        )
        out.verdict = verdict_of(out)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": asdict(self.a),
            "b": asdict(self.b),
            "kind": self.kind,
            "same_bytes": self.same_bytes,
            "empty": self.empty,
            "table": self.table.to_dict() if self.table else None,
            "folder": self.folder.to_dict() if self.folder else None,
            "verdict": self.verdict.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DatasetDiff:
        return cls(
            Side(**d["a"]),
            Side(**d["b"]),
            d["kind"],
            d["same_bytes"],
            TableDiff.from_dict(d["table"]) if d.get("table") else None,
            FolderDiff.from_dict(d["folder"]) if d.get("folder") else None,
            Verdict(d["verdict"]["level"], list(d["verdict"]["reasons"])),
        )
