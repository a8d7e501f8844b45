"""The out-of-core half: DuckDB reads the files where they lie and runs the diff and profile queries.

DuckDB reads Parquet, CSV and JSON Lines itself, joins and aggregates on all cores and spills to a temporary
folder past its memory limit, so a diff of tables larger than memory runs in bounded memory
(``MLINEAGE_DUCKDB_MEMORY``, default 1GB; docs/datasets.md has the measurements behind the choice). Each
query is one pass: the keyed diff is a single FULL OUTER JOIN whose aggregates give every count, the null
counts, the rename checks and bounded, ordered samples (``arg_min(row, key, n)``).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..errors import ValidationError
from .model import Column, RowDiff
from .schema import is_numeric
from .sources import TableSource

A_MARK, B_MARK = "__mlineage_a", "__mlineage_b"
QUANTILES = [i / 100 for i in range(101)]
TOP_VALUES = 100
CATEGORICAL_MAX_DISTINCT = 1000


@contextmanager
def connect() -> Iterator[Any]:
    """A DuckDB connection with bounded memory and a private spill folder, closed after use."""
    import duckdb

    memory = os.environ.get("MLINEAGE_DUCKDB_MEMORY", "1GB")
    threads = int(os.environ.get("MLINEAGE_DUCKDB_THREADS", "0")) or min(os.cpu_count() or 1, 8)
    with tempfile.TemporaryDirectory(prefix="mlineage-duckdb-") as spill:
        con = duckdb.connect(
            config={
                "memory_limit": memory,
                "threads": threads,
                "temp_directory": spill,
                "preserve_insertion_order": False,
            }
        )
        try:
            yield con
        finally:
            con.close()


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


INLINE_VIEW = "mlineage_inline"


def relation(src: TableSource) -> str:
    """The FROM clause that reads a source (see ``register_inline`` for one held in memory)."""
    if src.inline is not None:
        return INLINE_VIEW
    files = "[" + ", ".join(_literal(f) for f in src.files) + "]"
    if src.format == "parquet":
        return f"read_parquet({files})"
    if src.format == "csv":
        return f"read_csv({files}, delim={_literal(src.delimiter or ',')}, header=true)"
    return f"read_json({files}, format='newline_delimited')"


def register_inline(con: Any, src: TableSource) -> None:
    """Let ``relation(src)`` read a source whose bytes are in memory (``add`` read them to hash them): DuckDB
    reads them through a file object, with the options it reads the file on disk with."""
    import io

    import duckdb

    data = io.BytesIO(src.inline or b"")
    try:
        if src.format == "parquet":
            rel = con.read_parquet(data)
        elif src.format == "csv":
            rel = con.read_csv(data, delimiter=src.delimiter or ",", header=True)
        else:
            rel = con.read_json(data, format="newline_delimited")
        rel.create_view(INLINE_VIEW, replace=True)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise ValidationError(src.label, f"could not be read as a table: {first}") from None


def _run(con: Any, sql: str, src: Sequence[TableSource]) -> Any:
    import duckdb

    try:
        return con.execute(sql)
    except duckdb.Error as exc:
        for s in src:
            mismatch = _shard_mismatch(con, s)
            if mismatch is not None:
                raise mismatch from None
        first = str(exc).strip().splitlines()[0]
        labels = " / ".join(s.label for s in src)
        raise ValidationError(
            labels,
            f"could not be read as a table: {first}",
            "check that each file is the format its name says",
        ) from None


def _shard_mismatch(con: Any, src: TableSource) -> ValidationError | None:
    """After a failed read, whether it failed because a table's shards differ in their columns (or types):
    the error names the first shard that differs from the first one."""
    import dataclasses

    import duckdb

    if src.inline is not None or len(src.files) < 2:
        return None
    names = src.names or tuple(os.path.basename(f) for f in src.files)
    first: tuple[str, list[str]] | None = None
    for name, file in zip(names, src.files):
        one = dataclasses.replace(src, files=(file,))
        try:
            described = con.execute(f"DESCRIBE SELECT * FROM {relation(one)}").fetchall()
        except duckdb.Error:
            return None  # this shard cannot be read by itself: the original error says why
        found = [f"{r[0]} {r[1]}" for r in described]
        if first is None:
            first = (name, found)
        elif found != first[1]:
            return ValidationError(
                src.label,
                f"its shards are not one table: {first[0]} has {', '.join(first[1])}; "
                f"{name} has {', '.join(found)}",
                "write every shard with the same columns and types, or diff the shards one by one",
            )
    return None


def columns(con: Any, src: TableSource) -> list[Column]:
    rows = _run(con, f"DESCRIBE SELECT * FROM {relation(src)}", [src]).fetchall()
    return [Column(r[0], r[1]) for r in rows]


def count_rows(con: Any, src: TableSource) -> int:
    return int(_run(con, f"SELECT count(*) FROM {relation(src)}", [src]).fetchone()[0])


def _is_integer(type_name: str) -> bool:
    return type_name.upper().split("(")[0] in (
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
    )


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return str(value)


def _cast(expr: str, old: str, new: str) -> str:
    return expr if old == new else f"TRY_CAST({expr} AS {new})"


_FIXED_WIDTH = ("BOOLEAN", "DATE", "TIME", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "UUID")


def _comparable(expr: str, old: str, new: str) -> str:
    """A column's value as it is compared across the join: itself (cast to the other side's type) for numbers
    and other fixed-width types, a hash of it for text and nested values."""
    cast = _cast(expr, old, new)
    base = new.upper().split("(")[0]
    if is_numeric(new) or base in _FIXED_WIDTH or base.startswith("TIMESTAMP"):
        return cast
    return f"hash({cast})"


def keyed_diff(
    con: Any,
    a: TableSource,
    b: TableSource,
    cols_a: list[Column],
    cols_b: list[Column],
    key: list[str],
    pairs: list[tuple[str, str]],
    candidates: list[tuple[str, str]],
    samples: int,
) -> tuple[RowDiff, dict[str, int], dict[str, int], list[tuple[str, str]]]:
    """Rows by key in one join. ``pairs``: (column in A, column in B) compared cell by cell; ``candidates``:
    (removed, added) pairs checked for identical values. Returns the row diff, NULL counts per side and the
    candidates whose values matched on every matched row."""
    types_a = {c.name: c.type for c in cols_a}
    types_b = {c.name: c.type for c in cols_b}
    for side, names in (("A", types_a), ("B", types_b)):
        missing = [k for k in key if k not in names]
        if missing:
            label = a.label if side == "A" else b.label
            raise ValidationError(
                "key",
                f"column {', '.join(map(repr, missing))} is not in {label}",
                f"its columns are {', '.join(names)}",
            )
    on = " AND ".join(f"a.{quote(k)} = b.{quote(k)}" for k in key)
    compared = [(x, y) for x, y in pairs if x not in key]
    stated = {"a": _parquet_nulls(con, a, cols_a), "b": _parquet_nulls(con, b, cols_b)}
    nulls_in_join = {side: stated[side] is None for side in stated}
    # Where Parquet statistics say no key is NULL, a side's row is present exactly when its key is not
    # NULL; otherwise each side carries a mark. Only the columns compared travel through the join, and
    # variable-width ones (text, nested) as a 64-bit hash of their value: a narrower hash table, and equal
    # values give equal hashes (a change is missed only on a hash collision).
    keys_known = all(
        stated[s] is not None and not any(stated[s][k] for k in key)  # type: ignore[index]
        for s in ("a", "b")
    )
    side_a = [f"{_cast(quote(k), types_a[k], types_a[k])} AS {quote(k)}" for k in key]
    side_b = [f"{_cast(quote(k), types_b[k], types_a[k])} AS {quote(k)}" for k in key]
    if not keys_known:
        side_a.append(f"true AS {A_MARK}")
        side_b.append(f"true AS {B_MARK}")
        has_a, has_b = f"a.{A_MARK} IS NOT NULL", f"b.{B_MARK} IS NOT NULL"
    else:
        has_a, has_b = f"a.{quote(key[0])} IS NOT NULL", f"b.{quote(key[0])} IS NOT NULL"
    for i, (x, y) in enumerate(compared):
        side_a.append(f"{_comparable(quote(x), types_a[x], types_b[y])} AS c_{i}")
        side_b.append(f"{_comparable(quote(y), types_b[y], types_b[y])} AS c_{i}")
    for i, (r, n) in enumerate(candidates):
        side_a.append(f"{_comparable(quote(r), types_a[r], types_b[n])} AS r_{i}")
        side_b.append(f"{_comparable(quote(n), types_b[n], types_b[n])} AS r_{i}")
    if nulls_in_join["a"]:
        side_a += [f"{quote(c.name)} IS NULL AS n_{i}" for i, c in enumerate(cols_a)]
    if nulls_in_join["b"]:
        side_b += [f"{quote(c.name)} IS NULL AS n_{i}" for i, c in enumerate(cols_b)]
    if len(key) == 1:
        key_a, key_b = f"a.{quote(key[0])}", f"b.{quote(key[0])}"
    else:
        key_a = "(" + ", ".join(f"a.{quote(k)}" for k in key) + ")"
        key_b = "(" + ", ".join(f"b.{quote(k)}" for k in key) + ")"
    differs = [f"a.c_{i} IS DISTINCT FROM b.c_{i}" for i in range(len(compared))]
    renamed = [f"a.r_{i} IS DISTINCT FROM b.r_{i}" for i in range(len(candidates))]
    # Each row's facts are computed once in the inner query; ``m`` marks the few rows that are not an
    # unchanged match, and every filter but the total and the NULL counts tests it first, so it looks no
    # further on the rest.
    inner = [
        f"{has_a} AND {has_b} AS m_both",
        f"NOT {has_a} AS m_added",
        f"NOT {has_b} AS m_removed",
        f"{key_a} AS k_a",
        f"{key_b} AS k_b",
        "NOT (" + " AND ".join([has_a, has_b, *[f"NOT ({d})" for d in differs + renamed]]) + ") AS m",
    ]
    if not keys_known:
        inner += [
            "(" + " OR ".join(f"a.{quote(k)} IS NULL" for k in key) + f") AND {has_a} AS m_null_a",
            "(" + " OR ".join(f"b.{quote(k)} IS NULL" for k in key) + f") AND {has_b} AS m_null_b",
        ]
    else:
        inner += ["false AS m_null_a", "false AS m_null_b"]
    inner += [f"{d} AS d_{i}" for i, d in enumerate(differs)]
    inner += [f"{d} AS rd_{i}" for i, d in enumerate(renamed)]
    if nulls_in_join["a"]:
        inner += [f"{has_a} AND a.n_{i} AS n_a_{i}" for i in range(len(cols_a))]
    if nulls_in_join["b"]:
        inner += [f"{has_b} AND b.n_{i} AS n_b_{i}" for i in range(len(cols_b))]
    any_diff = " OR ".join(f"d_{i}" for i in range(len(differs))) or "false"
    select = [
        "count(*)",
        "count(*) FILTER (WHERE m AND m_removed)",
        "count(*) FILTER (WHERE m AND m_added)",
        # distinct keys among unmatched rows: a list of the few unmatched keys is far cheaper than a
        # DISTINCT aggregate over the join
        "coalesce(len(list_distinct(list(k_a) FILTER (WHERE m AND m_removed))), 0)",
        "coalesce(len(list_distinct(list(k_b) FILTER (WHERE m AND m_added))), 0)",
        f"count(*) FILTER (WHERE m AND m_both AND ({any_diff}))",
        "count(*) FILTER (WHERE m AND m_null_a)",
        "count(*) FILTER (WHERE m AND m_null_b)",
    ]
    select += [f"count(*) FILTER (WHERE m AND m_both AND d_{i})" for i in range(len(differs))]
    select += [f"count(*) FILTER (WHERE n_a_{i})" if nulls_in_join["a"] else "0" for i in range(len(cols_a))]
    select += [f"count(*) FILTER (WHERE n_b_{i})" if nulls_in_join["b"] else "0" for i in range(len(cols_b))]
    select += [f"count(*) FILTER (WHERE m AND m_both AND rd_{i})" for i in range(len(candidates))]
    if samples:  # the first keys in key order; their rows are read afterwards (building rows here costs more)
        select += [
            f"arg_min(k_b, k_b, {samples}) FILTER (WHERE m AND m_added)",
            f"arg_min(k_a, k_a, {samples}) FILTER (WHERE m AND m_removed)",
            f"arg_min(k_a, k_a, {samples}) FILTER (WHERE m AND m_both AND ({any_diff}))",
        ]
    sql = (
        f"SELECT {', '.join(select)} FROM (SELECT {', '.join(inner)} "
        f"FROM (SELECT {', '.join(side_a)} FROM {relation(a)}) a "
        f"FULL OUTER JOIN (SELECT {', '.join(side_b)} FROM {relation(b)}) b ON {on})"
    )
    row = list(_run(con, sql, [a, b]).fetchone())
    total, removed, added, removed_keys, added_keys, changed, null_a, null_b = row[:8]
    matched = total - removed - added
    rest = row[8:]
    per_column = dict(zip([x for x, _ in compared], rest[: len(compared)]))
    rest = rest[len(compared) :]
    nulls_a = dict(zip([c.name for c in cols_a], rest[: len(cols_a)]))
    rest = rest[len(cols_a) :]
    nulls_b = dict(zip([c.name for c in cols_b], rest[: len(cols_b)]))
    nulls_a = stated["a"] or nulls_a
    nulls_b = stated["b"] or nulls_b
    rest = rest[len(cols_b) :]
    identical = [cand for cand, n in zip(candidates, rest[: len(candidates)]) if n == 0 and matched]
    rest = rest[len(candidates) :]
    for label, n in ((a.label, null_a), (b.label, null_b)):
        if n:
            raise ValidationError(
                "key",
                f"{', '.join(key)} is NULL in {n:,} row(s) of {label}",
                "a key must identify every row: choose other columns, or diff without --key",
            )
    rows_a, rows_b = count_rows(con, a), count_rows(con, b)
    if (
        matched + removed != rows_a
        or matched + added != rows_b
        or removed_keys != removed
        or added_keys != added
    ):
        raise _not_unique(con, a, b, key, rows_a, rows_b)
    diff = RowDiff(
        "key",
        list(key),
        rows_a,
        rows_b,
        added,
        removed,
        changed,
        {x: n for x, n in per_column.items()},
        [y for _, y in compared],
    )
    if samples:
        added_keys, removed_keys, changed_keys = (list(k or []) for k in rest[:3])
        rows_of_b = _rows_by_key(con, b, key, added_keys + changed_keys)
        rows_of_a = _rows_by_key(con, a, key, removed_keys + changed_keys)
        diff.samples = {
            "added": [rows_of_b[_key_tuple(k)] for k in added_keys if _key_tuple(k) in rows_of_b],
            "removed": [rows_of_a[_key_tuple(k)] for k in removed_keys if _key_tuple(k) in rows_of_a],
            "changed": [
                _changed_sample(rows_of_a[_key_tuple(k)], rows_of_b[_key_tuple(k)], key, compared)
                for k in changed_keys
                if _key_tuple(k) in rows_of_a and _key_tuple(k) in rows_of_b
            ],
        }
    return diff, nulls_a, nulls_b, identical


def _parquet_stats(con: Any, src: TableSource) -> dict[str, tuple[int | None, float | None, float | None]]:
    """Per top-level column, from Parquet's own statistics (DuckDB's ``parquet_metadata``): NULLs, min and max
    over every row group; None where a row group does not state it. Empty for other formats."""
    if src.format != "parquet":
        return {}
    files = "[" + ", ".join(_literal(f) for f in src.files) + "]"
    rows = _run(con, "SELECT path_in_schema, "
                     "CASE WHEN bool_and(stats_null_count IS NOT NULL) THEN sum(stats_null_count) END, "
                     "CASE WHEN bool_and(TRY_CAST(stats_min_value AS DOUBLE) IS NOT NULL) "
                     "THEN min(TRY_CAST(stats_min_value AS DOUBLE)) END, "
                     "CASE WHEN bool_and(TRY_CAST(stats_max_value AS DOUBLE) IS NOT NULL) "
                     "THEN max(TRY_CAST(stats_max_value AS DOUBLE)) END "
                     f"FROM parquet_metadata({files}) GROUP BY path_in_schema", [src]).fetchall()
    return {name: (None if n is None else int(n), lo, hi) for name, n, lo, hi in rows if "." not in name}


def _parquet_nulls(con: Any, src: TableSource, cols: list[Column]) -> dict[str, int] | None:
    """NULLs per column from Parquet statistics (None: not Parquet, or a column without them)."""
    stats = _parquet_stats(con, src)
    if not stats or any(c.name not in stats or stats[c.name][0] is None for c in cols):
        return None
    return {c.name: int(stats[c.name][0] or 0) for c in cols}


def _key_tuple(value: Any) -> tuple[Any, ...]:
    if isinstance(value, dict):  # a composite key comes back as a struct
        return tuple(value.values())
    if isinstance(value, tuple):
        return value
    return (value,)


def _rows_by_key(con: Any, src: TableSource, key: list[str], keys: list[Any]) -> dict[tuple[Any, ...], Any]:
    """The rows of a few keys, as JSON values by key tuple (constants in the filter let the reader skip row
    groups)."""
    if not keys:
        return {}
    wanted = list(dict.fromkeys(_key_tuple(k) for k in keys))
    params: list[Any] = [v for values in wanted for v in values]
    if len(key) == 1:
        where = f"{quote(key[0])} IN ({', '.join('?' for _ in wanted)})"
    else:
        where = " OR ".join("(" + " AND ".join(f"{quote(k)} = ?" for k in key) + ")" for _ in wanted)
    cur = con.execute(f"SELECT * FROM {relation(src)} WHERE {where}", params)
    header = [d[0] for d in cur.description]
    out = {}
    for r in cur.fetchall():
        row = dict(zip(header, r))
        out[tuple(row[k] for k in key)] = _json_value(row)
    return out


def _changed_sample(
    row_a: dict[str, Any], row_b: dict[str, Any], key: list[str], compared: list[tuple[str, str]]
) -> dict[str, Any]:
    values = {y: [row_a[x], row_b[y]] for x, y in compared if row_a[x] != row_b[y]}
    return {"key": {k: row_a[k] for k in key}, "values": values}


def _not_unique(
    con: Any, a: TableSource, b: TableSource, key: list[str], rows_a: int, rows_b: int
) -> ValidationError:
    cols = ", ".join(quote(k) for k in key)
    parts = []
    for src in (a, b):
        sql = (
            f"SELECT {cols}, count(*) AS n FROM {relation(src)} GROUP BY ALL HAVING count(*) > 1 "
            f"ORDER BY n DESC, {cols}"
        )
        found = _run(con, f"SELECT count(*), sum(n) FROM ({sql})", [src]).fetchone()
        if found[0]:
            examples = _run(con, sql + " LIMIT 3", [src]).fetchall()
            shown = "; ".join(
                ", ".join(f"{k}={v!r}" for k, v in zip(key, r[:-1])) + f" on {r[-1]} rows" for r in examples
            )
            parts.append(f"{src.label} has {found[0]:,} key(s) on more than one row ({shown})")
    detail = "; ".join(parts) or "the join found keys on several rows"
    return ValidationError(
        "key",
        f"{', '.join(key)} is not unique: {detail}",
        "pass columns that identify one row, or diff without --key to compare rows by content",
    )


def _row_hash(prefix: str, names: list[str], types: dict[str, str], target: dict[str, str]) -> str:
    parts = [_cast(f"{prefix}{quote(n)}", types[n], target[n]) for n in names]
    return f"hash({', '.join(parts)})" if parts else "0"


def content_diff(
    con: Any,
    a: TableSource,
    b: TableSource,
    cols_a: list[Column],
    cols_b: list[Column],
    pairs: list[tuple[str, str]],
    candidates: list[tuple[str, str]],
    samples: int,
) -> tuple[RowDiff, dict[str, int], dict[str, int], list[tuple[str, str]]]:
    """Rows as a multiset of content hashes over the shared columns: a row that appears twice in A and once
    in B counts as one removed. Duplicates are counted, never collapsed."""
    types_a = {c.name: c.type for c in cols_a}
    types_b = {c.name: c.type for c in cols_b}
    names_a = [x for x, _ in pairs]
    target = {x: types_b[y] for x, y in pairs}
    hash_a = _row_hash("", names_a, types_a, target)
    hash_b = _row_hash("", [y for _, y in pairs], types_b, types_b)
    counts = (
        "CREATE TEMP TABLE mlineage_rows AS SELECT h, coalesce(ha.n, 0) AS na, coalesce(hb.n, 0) AS nb "
        f"FROM (SELECT {hash_a} AS h, count(*) AS n FROM {relation(a)} GROUP BY 1) ha "
        f"FULL OUTER JOIN (SELECT {hash_b} AS h, count(*) AS n FROM {relation(b)} GROUP BY 1) hb "
        "USING (h) WHERE coalesce(ha.n, 0) <> coalesce(hb.n, 0)"
    )
    _run(con, "DROP TABLE IF EXISTS mlineage_rows", [a, b])
    _run(con, counts, [a, b])
    added, removed = _run(
        con,
        "SELECT coalesce(sum(greatest(nb - na, 0)), 0), "
        "coalesce(sum(greatest(na - nb, 0)), 0) FROM mlineage_rows",
        [a, b],
    ).fetchone()
    side_a = _side_stats(con, a, cols_a, [r for r, _ in candidates])
    side_b = _side_stats(con, b, cols_b, [n for _, n in candidates])
    identical = [
        (r, n)
        for r, n in candidates
        if side_a[2][r] == side_b[2][n] and side_a[0] and side_a[1][r] == side_b[1][n]
    ]
    diff = RowDiff(
        "content", [], side_a[0], side_b[0], int(added), int(removed), compared=[y for _, y in pairs]
    )
    if samples:
        diff.samples = {
            "added": _content_samples(con, b, cols_b, hash_b, "nb > na", samples),
            "removed": _content_samples(con, a, cols_a, hash_a, "na > nb", samples),
            "changed": [],
        }
    return diff, side_a[1], side_b[1], identical


def _side_stats(
    con: Any, src: TableSource, cols: list[Column], fingerprints: list[str]
) -> tuple[int, dict[str, int], dict[str, Any]]:
    """Row count, NULLs per column, and an order-free fingerprint (sum of value hashes) of some columns."""
    select = ["count(*)"] + [f"count(*) - count({quote(c.name)})" for c in cols]
    select += [f"sum(hash({quote(n)}))" for n in fingerprints]
    row = _run(con, f"SELECT {', '.join(select)} FROM {relation(src)}", [src]).fetchone()
    nulls = dict(zip([c.name for c in cols], row[1 : 1 + len(cols)]))
    return int(row[0]), nulls, dict(zip(fingerprints, row[1 + len(cols) :]))


def _content_samples(
    con: Any, src: TableSource, cols: list[Column], row_hash: str, which: str, n: int
) -> list[dict[str, Any]]:
    """Up to ``n`` of the surplus rows (a row twice in A and once in B is one removed copy), by hash."""
    names = ", ".join(quote(c.name) for c in cols)
    surplus = "nb - na" if which.startswith("nb") else "na - nb"
    sql = (
        f"SELECT {names} FROM (SELECT *, row_number() OVER (PARTITION BY mlineage_h) AS mlineage_n "
        f"FROM (SELECT *, {row_hash} AS mlineage_h FROM {relation(src)}) "
        f"WHERE mlineage_h IN (SELECT h FROM mlineage_rows WHERE {which} ORDER BY h LIMIT {n})) s "
        f"JOIN (SELECT h, {surplus} AS k FROM mlineage_rows WHERE {which}) d ON s.mlineage_h = d.h "
        f"WHERE mlineage_n <= k ORDER BY mlineage_h, {names} LIMIT {n}"
    )
    cur = _run(con, sql, [src])
    header = [d[0] for d in cur.description]
    return [_json_value(dict(zip(header, r))) for r in cur.fetchall()]


# ---------------------------------------------------------------- profiles


HISTOGRAM_BINS = 1000


def profile_table(con: Any, src: TableSource) -> dict[str, Any]:
    """Counts, distinct estimates, min/max, mean and deviation per column, and ``histogram`` aggregates:
    exact counts of a few values (categorical and small integer columns) and 1,000 equal-width bins of the
    other numeric columns, from which 101 quantiles are read. Deterministic (the same table gives the same
    profile bytes), unlike a sampled sketch. Numeric columns are binned in the first scan when Parquet
    statistics give their ranges; a second scan reads only the columns still needed (categorical ones, and
    ranges the first scan found)."""
    if src.inline is not None:
        register_inline(con, src)
    cols = columns(con, src)
    stats = _parquet_stats(con, src)
    ranges = _parquet_ranges(cols, stats)
    select = ["count(*)"]
    early: dict[str, str] = {}
    for c in cols:
        q = quote(c.name)
        stated = stats.get(c.name)
        known_nulls = stated is not None and stated[0] is not None
        small = c.name in ranges and _is_small_integer(c.type, *ranges[c.name])
        # NULLs from the statistics; a small integer's distinct values are its exact histogram's keys
        select += [
            "NULL" if known_nulls else f"count({q})",
            "NULL" if small else f"approx_count_distinct({q})",
        ]
        if is_numeric(c.type) and c.name in ranges:
            # mean and deviation from sums of the values less the stated minimum: two sums instead of a
            # division per value (``stddev_pop``), and no loss of precision on values far from zero
            d = f"({q}::DOUBLE - {float(ranges[c.name][0])!r}::DOUBLE)"
            select += ["NULL", "NULL", f"sum({d})", f"sum({d} * {d})"]
            early[c.name] = _histogram_sql(q, c.type, *ranges[c.name])
        elif is_numeric(c.type):
            select += [
                f"min({q})::DOUBLE",
                f"max({q})::DOUBLE",
                f"avg({q})::DOUBLE",
                f"stddev_pop({q})::DOUBLE",
            ]
        else:
            select += [f"min({q})::VARCHAR", f"max({q})::VARCHAR"]
    select += list(early.values())
    row = list(_run(con, f"SELECT {', '.join(select)} FROM {relation(src)}", [src]).fetchone())
    rows = int(row.pop(0))
    out: list[dict[str, Any]] = []
    for c in cols:
        count, distinct = row.pop(0), row.pop(0)
        if count is None:
            count = rows - int(stats[c.name][0] or 0)
        entry: dict[str, Any] = {
            "name": c.name,
            "type": c.type,
            "nulls": rows - int(count),
            "distinct": None if distinct is None else min(int(distinct), int(count)),
        }
        if is_numeric(c.type):
            lo, hi, mean, std = (row.pop(0) for _ in range(4))
            if c.name in ranges:
                lo, hi = ranges[c.name]
                total, squares = mean, std
                mean = std = None
                if count and total is not None and squares is not None:
                    shift = total / count
                    mean = lo + shift
                    std = math.sqrt(max(squares / count - shift * shift, 0.0))
                if not count:
                    lo = hi = None
            entry.update(
                kind="numeric",
                min=_json_value(lo),
                max=_json_value(hi),
                # 12 digits: a parallel sum's last bits depend on the order threads finish in
                mean=_json_value(_digits(mean)),
                std=_json_value(_digits(std)),
            )
        else:
            entry.update(
                kind="categorical" if distinct <= CATEGORICAL_MAX_DISTINCT else "text",
                min=row.pop(0),
                max=row.pop(0),
            )
        out.append(entry)
    found = dict(zip(early, row))
    late: list[tuple[dict[str, Any], str]] = []
    for entry in out:
        q = quote(entry["name"])
        if entry["kind"] == "categorical":
            late.append((entry, f"histogram({q}::VARCHAR)"))
        elif entry["kind"] == "numeric" and entry["name"] not in early and entry["min"] is not None:
            late.append((entry, _histogram_sql(q, entry["type"], entry["min"], entry["max"])))
    if late:
        values = _run(con, f"SELECT {', '.join(h for _, h in late)} FROM {relation(src)}", [src]).fetchone()
        found.update({entry["name"]: v for (entry, _), v in zip(late, values)})
    for entry in out:
        if entry["name"] not in found or entry["min"] is None:
            if entry["distinct"] is None:  # a small integer column holding only NULLs
                entry["distinct"] = 0
            continue
        counts = dict(found[entry["name"]] or {})
        if entry["distinct"] is None:  # a small integer column: its exact histogram
            entry["distinct"] = len(counts)
        if entry["kind"] == "categorical":
            top = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
            entry["top"] = [[v, int(n)] for v, n in top[:TOP_VALUES]]
            entry["other"] = sum(int(n) for _, n in top[TOP_VALUES:])
        elif entry["max"] == entry["min"]:
            entry["quantiles"] = [entry["min"]] * len(QUANTILES)
        else:
            lo, hi = ranges.get(entry["name"], (entry["min"], entry["max"]))
            if _is_small_integer(entry["type"], lo, hi):
                pairs = sorted(counts.items())
                entry["histogram"] = [[_json_value(v), int(n)] for v, n in pairs]
                entry["quantiles"] = _value_quantiles(pairs)
            else:
                entry["quantiles"] = _binned_quantiles(counts, lo, hi, entry["min"], entry["max"])
    return {"rows": rows, "columns": out}


def _digits(value: float | None) -> float | None:
    return value if value is None or not math.isfinite(value) else float(f"{value:.12g}")


def _is_small_integer(type_name: str, lo: float, hi: float) -> bool:
    return _is_integer(type_name) and hi - lo < CATEGORICAL_MAX_DISTINCT


def _histogram_sql(q: str, type_name: str, lo: float, hi: float) -> str:
    """The histogram of a numeric column over [lo, hi]: its values if they are few integers, else bins."""
    if _is_small_integer(type_name, lo, hi):
        return f"histogram({q})"
    width = (hi - lo) / HISTOGRAM_BINS or 1.0
    return (
        f"histogram(least(greatest(floor(({q}::DOUBLE - {lo!r}) / {width!r}), 0), {HISTOGRAM_BINS - 1})"
        "::INTEGER)"
    )


def _parquet_ranges(
    cols: list[Column], stats: dict[str, tuple[int | None, float | None, float | None]]
) -> dict[str, tuple[float, float]]:
    """Min and max of the numeric columns from Parquet statistics (only columns every row group states)."""
    out = {}
    for c in cols:
        found = stats.get(c.name)
        if is_numeric(c.type) and found is not None and found[1] is not None and found[2] is not None:
            lo, hi = float(found[1]) + 0.0, float(found[2]) + 0.0  # Parquet writes a zero minimum as -0.0
            if math.isfinite(lo) and math.isfinite(hi):
                out[c.name] = (lo, hi)
    return out


def _binned_quantiles(
    counts: dict[int, int], lo: float, hi: float, true_lo: float, true_hi: float
) -> list[float]:
    """101 quantiles read from equal-width bin counts over [lo, hi], linear within a bin."""
    import numpy as np

    n = np.zeros(HISTOGRAM_BINS)
    for b, c in counts.items():
        n[int(b)] = c
    edges = np.linspace(lo, hi, HISTOGRAM_BINS + 1)
    cum = np.concatenate([[0.0], np.cumsum(n)]) / max(n.sum(), 1)
    keep = np.concatenate([[True], np.diff(cum) > 0])  # flat stretches (empty bins) would repeat a rank
    values = np.interp(QUANTILES, cum[keep], edges[keep])
    values[0], values[-1] = true_lo, true_hi
    return [float(f"{v:.12g}") for v in values]


def _value_quantiles(values: list[tuple[Any, int]]) -> list[float]:
    """101 quantiles of exactly counted values (the smallest value reaching each rank)."""
    import numpy as np

    xs = np.asarray([float(v) for v, _ in values])
    cum = np.cumsum([n for _, n in values]) / sum(n for _, n in values)
    idx = np.searchsorted(cum, np.asarray(QUANTILES) - 1e-12, side="left")
    return [float(xs[min(i, len(xs) - 1)]) for i in idx]
