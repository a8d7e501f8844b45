"""Tables written by the tests with PyArrow, and the shortest way to diff two files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json
import pyarrow.parquet as pq

from mlineage.datasets.differ import Materialized, diff
from mlineage.datasets.model import DatasetDiff, Side


def table(columns: dict[str, list[Any]], schema: pa.Schema | None = None) -> pa.Table:
    return pa.table(columns, schema=schema)


def write(path: Path, t: pa.Table, delimiter: str = ",") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix
    if suffix == ".parquet":
        pq.write_table(t, path)
    elif suffix in (".csv", ".tsv"):
        pacsv.write_csv(t, path, pacsv.WriteOptions(delimiter=delimiter, quoting_style="needed"))
    elif suffix == ".jsonl":
        import json

        with path.open("w") as f:
            for row in t.to_pylist():
                f.write(json.dumps(row) + "\n")
    else:
        raise ValueError(suffix)
    return path


def side(path: Path) -> Materialized:
    if path.is_dir():
        files = {p.relative_to(path).as_posix(): (p, None) for p in sorted(path.rglob("*")) if p.is_file()}
        return Materialized(Side(str(path)), path.name, files=files)  # type: ignore[arg-type]
    return Materialized(Side(str(path)), path.name, path=path)


def diff_files(a: Path, b: Path, key: list[str] | None = None, samples: int = 5) -> DatasetDiff:
    return diff(side(a), side(b), key=key, samples=samples)
