"""Every semantic-version rule, on real Parquet files, with the reasons it gives."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from mlineage.datasets.semver import bump, parse
from mlineage.errors import ValidationError

from .helpers import diff_files, table, write

BASE = {"id": [1, 2, 3, 4], "x": [1.0, 2.0, 3.0, 4.0], "name": ["a", "b", "c", "d"]}


def _verdict(
    tmp_path: Path, new: pa.Table, old: pa.Table | None = None, key: list[str] | None = None
) -> tuple[str, list[str]]:
    a = write(tmp_path / "a.parquet", old if old is not None else table(BASE))
    b = write(tmp_path / "b.parquet", new)
    d = diff_files(a, b, key=key if key is not None else ["id"])
    return d.verdict.level, d.verdict.reasons


def test_column_removed_is_major(tmp_path: Path) -> None:
    level, reasons = _verdict(tmp_path, table({"id": BASE["id"], "x": BASE["x"]}))
    assert level == "major" and reasons == ["major: column 'name' removed"]


def test_column_renamed_is_major_and_detected(tmp_path: Path) -> None:
    level, reasons = _verdict(tmp_path, table({"id": BASE["id"], "x": BASE["x"], "label": BASE["name"]}))
    assert level == "major" and reasons == ["major: column 'name' renamed to 'label'"]
    d = diff_files(tmp_path / "a.parquet", tmp_path / "b.parquet", key=["id"])
    assert d.table is not None and d.table.schema.renamed == [("name", "label")]
    assert not d.table.schema.added and not d.table.schema.removed
    keyless = diff_files(tmp_path / "a.parquet", tmp_path / "b.parquet")  # by content too
    assert keyless.table is not None and keyless.table.schema.renamed == [("name", "label")]
    assert keyless.table.rows.empty


def test_same_type_different_values_is_no_rename(tmp_path: Path) -> None:
    level, reasons = _verdict(
        tmp_path, table({"id": BASE["id"], "x": BASE["x"], "label": ["a", "b", "c", "z"]})
    )
    assert level == "major"
    assert reasons == ["major: column 'name' removed", "minor: column 'label' added (VARCHAR)"]


def test_type_narrowed_is_major(tmp_path: Path) -> None:
    old = table({"id": BASE["id"], "n": pa.array([1, 2, 3, 4], pa.int64())})
    new = table({"id": BASE["id"], "n": pa.array([1, 2, 3, 4], pa.int32())})
    level, reasons = _verdict(tmp_path, new, old)
    assert level == "major" and reasons == ["major: column 'n' narrowed from BIGINT to INTEGER"]


def test_type_widened_is_minor(tmp_path: Path) -> None:
    old = table({"id": BASE["id"], "n": pa.array([1, 2, 3, 4], pa.int32())})
    new = table({"id": BASE["id"], "n": pa.array([1.0, 2.0, 3.0, 4.0], pa.float64())})
    level, reasons = _verdict(tmp_path, new, old)
    assert level == "minor" and reasons == ["minor: column 'n' widened from INTEGER to DOUBLE"]


def test_column_gaining_nulls_is_major(tmp_path: Path) -> None:
    level, reasons = _verdict(tmp_path, table(dict(BASE, name=["a", None, "c", "d"])))
    assert level == "major"
    assert reasons == ["major: column 'name' has NULLs now (it had none)", "patch: 1 row changed (name 1)"]


def test_rows_added_is_minor(tmp_path: Path) -> None:
    new = table({"id": [1, 2, 3, 4, 5], "x": [1.0, 2.0, 3.0, 4.0, 5.0], "name": ["a", "b", "c", "d", "e"]})
    level, reasons = _verdict(tmp_path, new)
    assert level == "minor" and reasons == ["minor: 1 row added"]


def test_rows_removed_is_minor(tmp_path: Path) -> None:
    new = table({"id": [1, 2], "x": [1.0, 2.0], "name": ["a", "b"]})
    level, reasons = _verdict(tmp_path, new)
    assert level == "minor" and reasons == ["minor: 2 rows removed"]


def test_column_added_is_minor(tmp_path: Path) -> None:
    level, reasons = _verdict(tmp_path, table(dict(BASE, y=[0, 0, 0, 0])))
    assert level == "minor" and reasons == ["minor: column 'y' added (BIGINT)"]


def test_only_values_changed_is_patch(tmp_path: Path) -> None:
    level, reasons = _verdict(tmp_path, table(dict(BASE, x=[1.0, 2.5, 3.0, 4.5])))
    assert level == "patch" and reasons == ["patch: 2 rows changed (x 2)"]


def test_without_a_key_a_changed_row_is_a_removal_and_an_addition(tmp_path: Path) -> None:
    level, reasons = _verdict(tmp_path, table(dict(BASE, x=[1.0, 2.5, 3.0, 4.0])), key=[])
    assert level == "minor" and reasons == ["minor: 1 row added", "minor: 1 row removed"]


def test_same_rows_other_bytes_is_patch(tmp_path: Path) -> None:
    a = write(tmp_path / "a.parquet", table(BASE))
    b = tmp_path / "b.parquet"
    import pyarrow.parquet as pq

    pq.write_table(table(BASE), b, compression="gzip")
    d = diff_files(a, b, key=["id"])
    assert d.verdict.level == "patch" and d.verdict.reasons == [
        "patch: bytes differ, rows and columns are the same"
    ]


def test_identical_files_are_none(tmp_path: Path) -> None:
    a = write(tmp_path / "a.parquet", table(BASE))
    d = diff_files(a, a, key=["id"])
    assert d.empty and d.same_bytes and d.verdict.level == "none" and d.verdict.reasons == []


def test_the_highest_level_wins_and_every_reason_is_kept(tmp_path: Path) -> None:
    new = table({"id": [1, 2, 3, 5], "x": [1.0, 9.0, 3.0, 5.0], "extra": [1, 1, 1, 1]})
    level, reasons = _verdict(tmp_path, new)
    assert level == "major"
    assert reasons == [
        "major: column 'name' removed",
        "minor: column 'extra' added (BIGINT)",
        "minor: 1 row added",
        "minor: 1 row removed",
        "patch: 1 row changed (x 1)",
    ]


def test_folder_rules(tmp_path: Path) -> None:
    for rel, text in (
        ("a/keep.txt", "k"),
        ("a/gone.txt", "g"),
        ("a/edit.txt", "1"),
        ("b/keep.txt", "k"),
        ("b/new.txt", "n"),
        ("b/edit.txt", "2"),
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    d = diff_files(tmp_path / "a", tmp_path / "b")
    assert d.kind == "folder" and d.verdict.level == "major"
    assert d.verdict.reasons == [
        "major: file gone.txt removed",
        "minor: file new.txt added",
        "patch: file edit.txt modified",
    ]


def test_bump() -> None:
    assert bump(None, "minor") == "1.0.0"
    assert bump("1.4.2", "major") == "2.0.0"
    assert bump("1.4.2", "minor") == "1.5.0"
    assert bump("1.4.2", "patch") == "1.4.3"
    assert bump("1.4.2", "none") == "1.4.2"
    with pytest.raises(ValidationError, match="not a semantic version"):
        parse("1.4")
