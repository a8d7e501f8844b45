"""``diff`` of two materialized sides: which comparison applies (a table, a folder, bytes) and running it.

A side is files on this machine -- the user's own, or a recorded version's objects in the cache -- with the
names that say their format. Two tables (a file, or a folder whose files are shards of one format) get a
schema and row diff; two other folders get the per-file diff, with a row diff for each tabular file
modified; anything else is compared by bytes.
"""

from __future__ import annotations

import filecmp
from dataclasses import dataclass, field
from pathlib import Path

from .model import Column, DatasetDiff, FolderDiff, Side, TableDiff
from .schema import pick_renames, rename_candidates, schema_diff
from .semver import verdict_of
from .sources import TableSource, format_of, is_table_folder, shard_names, table_source

DEFAULT_SAMPLES = 5


@dataclass
class Materialized:
    """One side on local disk: a file (``path``, named ``name``) or a folder (``files``: relative path ->
    (local path, digest or None when not known))."""

    side: Side
    name: str
    path: Path | None = None
    files: dict[str, tuple[Path, str | None]] = field(default_factory=dict)

    @property
    def is_folder(self) -> bool:
        return self.path is None

    def table(self) -> TableSource | None:
        """This side as one table, or None when it is not one."""
        if not self.is_folder:
            if format_of(self.name) is None:
                return None
            assert self.path is not None
            return table_source(self.side.label, [(self.name, self.path)])
        names = list(self.files)
        if not is_table_folder(names):
            return None
        return table_source(self.side.label, [(n, self.files[n][0]) for n in shard_names(names)])


def diff_tables(
    a: TableSource, b: TableSource, *, key: list[str] | None = None, samples: int = DEFAULT_SAMPLES
) -> TableDiff:
    """Schema and rows of two tables, out of core (``engine``)."""
    from . import engine

    with engine.connect() as con:
        cols_a, cols_b = engine.columns(con, a), engine.columns(con, b)
        candidates = rename_candidates(cols_a, cols_b)
        names_b = {c.name for c in cols_b}
        shared = [(c.name, c.name) for c in cols_a if c.name in names_b]
        if key:
            rows, nulls_a, nulls_b, identical = engine.keyed_diff(
                con, a, b, cols_a, cols_b, key, shared, candidates, samples
            )
        else:
            rows, nulls_a, nulls_b, identical = engine.content_diff(
                con, a, b, cols_a, cols_b, shared, candidates, samples
            )
        renames = pick_renames(candidates, identical)
        if renames and not key:  # the row hashes must cover the renamed columns too
            rows, _, _, _ = engine.content_diff(con, a, b, cols_a, cols_b, shared + renames, [], samples)
        elif renames:  # identical on every matched row: no cell of a renamed column changed
            rows.compared += [new for _, new in renames]
            rows.changed_cells.update({new: 0 for _, new in renames})
    with_nulls_a = [Column(c.name, c.type, nulls_a.get(c.name)) for c in cols_a]
    with_nulls_b = [Column(c.name, c.type, nulls_b.get(c.name)) for c in cols_b]
    notes = []
    if a.delimiter and b.delimiter and a.delimiter != b.delimiter:
        notes.append(f"A is delimited by {a.delimiter!r}, B by {b.delimiter!r}: each was read with its own")
    if a.format != b.format:
        notes.append(f"A is {a.format}, B is {b.format}: compared as tables")
    return TableDiff(
        schema_diff(with_nulls_a, with_nulls_b, renames), rows, a.description, b.description, notes
    )


def diff(
    a: Materialized, b: Materialized, *, key: list[str] | None = None, samples: int = DEFAULT_SAMPLES
) -> DatasetDiff:
    """Compare two sides (see the module docstring); the verdict is filled in."""
    ta, tb = a.table(), b.table()
    if ta is not None and tb is not None:
        table = diff_tables(ta, tb, key=key, samples=samples)
        out = DatasetDiff(a.side, b.side, "table", _same_bytes(a, b), table=table)
    elif a.is_folder and b.is_folder:
        out = DatasetDiff(a.side, b.side, "folder", False, folder=_diff_folders(a, b, key, samples))
        out.same_bytes = out.folder is not None and out.folder.empty
    else:
        out = DatasetDiff(a.side, b.side, "bytes", _same_bytes(a, b))
    out.verdict = verdict_of(out)
    return out


def _same_bytes(a: Materialized, b: Materialized) -> bool:
    if a.side.digest and b.side.digest:
        return a.side.digest == b.side.digest
    if a.is_folder != b.is_folder:
        return False
    if not a.is_folder:
        assert a.path is not None and b.path is not None
        return filecmp.cmp(a.path, b.path, shallow=False)
    return set(a.files) == set(b.files) and all(_same_file(a.files[n], b.files[n]) for n in a.files)


def _same_file(x: tuple[Path, str | None], y: tuple[Path, str | None]) -> bool:
    if x[1] and y[1]:
        return x[1] == y[1]
    return filecmp.cmp(x[0], y[0], shallow=False)


def _diff_folders(a: Materialized, b: Materialized, key: list[str] | None, samples: int) -> FolderDiff:
    out = FolderDiff(sorted(set(b.files) - set(a.files)), sorted(set(a.files) - set(b.files)))
    for name in sorted(set(a.files) & set(b.files)):
        if _same_file(a.files[name], b.files[name]):
            continue
        out.modified.append(name)
        if format_of(name) is not None:
            pa, pb = a.files[name][0], b.files[name][0]
            ta = table_source(f"{a.side.label}:{name}", [(name, pa)])
            tb = table_source(f"{b.side.label}:{name}", [(name, pb)])
            out.tables[name] = diff_tables(ta, tb, key=key, samples=samples)
    return out
