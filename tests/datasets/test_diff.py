"""Row and schema diffs of real Parquet, CSV and JSON Lines files: keys, duplicates, shards, bad input."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlineage.errors import ValidationError

from .helpers import diff_files, table, write

BASE = {"id": [1, 2, 3, 4], "x": [1.0, 2.0, 3.0, 4.0], "name": ["a", "b", "c", "d"]}


def test_keyed_diff_counts_and_samples(tmp_path: Path) -> None:
    a = write(tmp_path / "a.parquet", table(BASE))
    b = write(
        tmp_path / "b.parquet",
        table({"id": [1, 2, 3, 5], "x": [1.0, 2.5, 3.0, 5.0], "name": ["a", "b", "z", "e"]}),
    )
    d = diff_files(a, b, key=["id"])
    assert d.table is not None
    rows = d.table.rows
    assert (rows.rows_a, rows.rows_b, rows.added, rows.removed, rows.changed) == (4, 4, 1, 1, 2)
    assert rows.changed_cells == {"x": 1, "name": 1}
    assert rows.samples["added"] == [{"id": 5, "x": 5.0, "name": "e"}]
    assert rows.samples["removed"] == [{"id": 4, "x": 4.0, "name": "d"}]
    assert rows.samples["changed"] == [
        {"key": {"id": 2}, "values": {"x": [2.0, 2.5]}},
        {"key": {"id": 3}, "values": {"name": ["c", "z"]}},
    ]
    limited = diff_files(a, b, key=["id"], samples=1)
    assert limited.table is not None and len(limited.table.rows.samples["changed"]) == 1


def test_composite_key(tmp_path: Path) -> None:
    a = write(tmp_path / "a.parquet", table({"k1": [1, 1, 2], "k2": ["a", "b", "a"], "v": [1, 2, 3]}))
    b = write(tmp_path / "b.parquet", table({"k1": [1, 1, 2], "k2": ["a", "b", "a"], "v": [1, 5, 3]}))
    d = diff_files(a, b, key=["k1", "k2"])
    assert d.table is not None and d.table.rows.changed == 1
    assert d.table.rows.samples["changed"] == [{"key": {"k1": 1, "k2": "b"}, "values": {"v": [2, 5]}}]


def test_non_unique_key_is_reported_not_picked(tmp_path: Path) -> None:
    a = write(tmp_path / "a.parquet", table({"id": [1, 2, 2, 3, 3, 3], "v": [1, 2, 2, 3, 3, 3]}))
    b = write(tmp_path / "b.parquet", table({"id": [1, 2, 3], "v": [1, 2, 3]}))
    with pytest.raises(ValidationError) as caught:
        diff_files(a, b, key=["id"])
    message = str(caught.value)
    assert "id is not unique" in message and "2 key(s) on more than one row" in message
    assert "id=3 on 3 rows" in message and "id=2 on 2 rows" in message


def test_duplicate_keys_among_added_rows_are_reported(tmp_path: Path) -> None:
    a = write(tmp_path / "a.parquet", table({"id": [1], "v": [1]}))
    b = write(tmp_path / "b.parquet", table({"id": [1, 7, 7], "v": [1, 2, 3]}))
    with pytest.raises(ValidationError, match="id=7 on 2 rows"):
        diff_files(a, b, key=["id"])


def test_null_key_is_refused(tmp_path: Path) -> None:
    a = write(tmp_path / "a.parquet", table({"id": [1, None], "v": [1, 2]}))
    b = write(tmp_path / "b.parquet", table({"id": [1, 2], "v": [1, 2]}))
    with pytest.raises(ValidationError, match="NULL in 1 row"):
        diff_files(a, b, key=["id"])


def test_keyless_diff_counts_duplicate_rows(tmp_path: Path) -> None:
    a = write(tmp_path / "a.parquet", table({"v": [1, 1, 1, 2], "w": ["x", "x", "x", "y"]}))
    b = write(tmp_path / "b.parquet", table({"v": [1, 2, 2, 3], "w": ["x", "y", "y", "z"]}))
    d = diff_files(a, b)
    assert d.table is not None
    rows = d.table.rows
    assert rows.mode == "content" and (rows.added, rows.removed) == (2, 2)  # +y, +z; -x, -x
    assert rows.samples["removed"] == [{"v": 1, "w": "x"}, {"v": 1, "w": "x"}]
    assert sorted(r["v"] for r in rows.samples["added"]) == [2, 3]


def test_sharded_folder_is_one_table(tmp_path: Path) -> None:
    write(tmp_path / "a" / "part-0.parquet", table({"id": [1, 2], "v": [1.0, 2.0]}))
    write(tmp_path / "a" / "part-1.parquet", table({"id": [3, 4], "v": [3.0, 4.0]}))
    (tmp_path / "a" / "_SUCCESS").write_text("")
    write(tmp_path / "b" / "part-0.parquet", table({"id": [1], "v": [1.0]}))
    write(tmp_path / "b" / "part-1.parquet", table({"id": [2, 3, 4, 5], "v": [2.0, 3.5, 4.0, 5.0]}))
    d = diff_files(tmp_path / "a", tmp_path / "b", key=["id"])
    assert d.kind == "table" and d.table is not None
    assert "2 shards" in d.table.format_a
    rows = d.table.rows
    assert (rows.rows_a, rows.rows_b, rows.added, rows.removed, rows.changed) == (4, 5, 1, 0, 1)


def test_folder_with_other_files_gets_a_row_diff_per_modified_table(tmp_path: Path) -> None:
    write(tmp_path / "a" / "t.csv", table({"id": [1, 2], "v": [1, 2]}))
    (tmp_path / "a" / "README.txt").write_text("one")
    write(tmp_path / "b" / "t.csv", table({"id": [1, 2], "v": [1, 3]}))
    (tmp_path / "b" / "README.txt").write_text("two")
    d = diff_files(tmp_path / "a", tmp_path / "b", key=["id"])
    assert d.kind == "folder" and d.folder is not None
    assert d.folder.modified == ["README.txt", "t.csv"]
    assert d.folder.tables["t.csv"].rows.changed == 1
    assert d.verdict.reasons == ["patch: file README.txt modified", "patch: t.csv: 1 row changed (v 1)"]


def test_csv_and_jsonl(tmp_path: Path) -> None:
    t = table(BASE)
    changed = table(dict(BASE, x=[1.0, 2.0, 3.0, 9.0]))
    for suffix in (".csv", ".jsonl"):
        a = write(tmp_path / f"a{suffix}", t)
        b = write(tmp_path / f"b{suffix}", changed)
        d = diff_files(a, b, key=["id"])
        assert d.table is not None and d.table.rows.changed_cells == {"x": 1, "name": 0}, suffix


def test_csv_with_another_delimiter_is_detected_and_said(tmp_path: Path) -> None:
    a = write(tmp_path / "a.csv", table(BASE), delimiter=",")
    b = write(tmp_path / "b.csv", table(BASE), delimiter=";")
    d = diff_files(a, b, key=["id"])
    assert d.table is not None and d.table.empty
    assert d.table.notes == ["A is delimited by ',', B by ';': each was read with its own"]


def test_csv_shards_with_different_delimiters_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "a" / "p0.csv", table(BASE), delimiter=",")
    write(tmp_path / "a" / "p1.csv", table(BASE), delimiter=";")
    write(tmp_path / "b" / "p0.csv", table(BASE))
    with pytest.raises(ValidationError, match="shards use different delimiters"):
        diff_files(tmp_path / "a", tmp_path / "b")


def test_a_file_that_is_not_its_extension_is_refused(tmp_path: Path) -> None:
    a = write(tmp_path / "a.parquet", table(BASE))
    fake = tmp_path / "b.parquet"
    fake.write_text("id,x\n1,2\n")
    with pytest.raises(ValidationError, match="b.parquet: is not a Parquet file"):
        diff_files(a, fake)
    csv_named = tmp_path / "c.csv"
    csv_named.write_bytes(a.read_bytes())
    with pytest.raises(ValidationError, match="is a Parquet file, not CSV"):
        diff_files(csv_named, csv_named)
    latin = tmp_path / "d.csv"
    latin.write_bytes("name\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(ValidationError, match="is not UTF-8"):
        diff_files(latin, latin)
    notjson = tmp_path / "e.jsonl"
    notjson.write_text("id,x\n")
    with pytest.raises(ValidationError, match="is not JSON Lines"):
        diff_files(notjson, notjson)


@pytest.mark.parametrize("name, content, problem", [
    ("e.csv", "", "e.csv: is empty (not even a header line), so it is no table"),
    ("e.csv", "\ufeff\n\n", "e.csv: is empty (not even a header line), so it is no table"),
    ("e.jsonl", "", "e.jsonl: holds no JSON object, so it is no table"),
    ("e.jsonl", "\n  \n", "e.jsonl: holds no JSON object, so it is no table"),
])
def test_an_empty_file_is_refused_not_given_an_invented_column(
    tmp_path: Path, name: str, content: str, problem: str
) -> None:
    empty = tmp_path / name
    empty.write_text(content)
    other = write(tmp_path / f"other{empty.suffix}", table(BASE))
    for a, b in ((empty, other), (other, empty), (empty, empty)):
        with pytest.raises(ValidationError) as caught:
            diff_files(a, b)
        assert str(caught.value).startswith(f"{empty}: {problem.partition(': ')[2]}"), caught.value


def test_an_empty_shard_holds_no_rows(tmp_path: Path) -> None:
    for suffix in (".csv", ".jsonl"):
        write(tmp_path / suffix / "a" / f"p0{suffix}", table(BASE))
        (tmp_path / suffix / "a" / f"p1{suffix}").write_text("")
        write(tmp_path / suffix / "b" / f"p0{suffix}", table(BASE))
        d = diff_files(tmp_path / suffix / "a", tmp_path / suffix / "b", key=["id"])
        assert d.table is not None and d.table.empty, suffix
        (tmp_path / suffix / "a" / f"p0{suffix}").write_text("")
        with pytest.raises(ValidationError, match="every shard of it is empty"):
            diff_files(tmp_path / suffix / "a", tmp_path / suffix / "b")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_shards_of_different_schemas_name_the_shards(tmp_path: Path, suffix: str) -> None:
    write(tmp_path / "a" / f"p0{suffix}", table({"id": [1, 2], "v": [1, 2]}))
    write(tmp_path / "a" / f"p1{suffix}", table({"id": ["x", "y"], "w": [1, 2]}))
    write(tmp_path / "b" / f"p0{suffix}", table({"id": [1, 2], "v": [1, 2]}))
    for key in (None, ["id"]):
        with pytest.raises(ValidationError) as caught:
            diff_files(tmp_path / "b", tmp_path / "a", key=key)
        message = str(caught.value)
        assert message.startswith(f"{tmp_path / 'a'}: its shards are not one table: p0{suffix} has "), message
        assert f"p1{suffix} has" in message and "w BIGINT" in message, message


def test_a_csv_naming_a_column_twice_is_refused(tmp_path: Path) -> None:
    dup = tmp_path / "dup.csv"
    dup.write_text("id,x,x\n1,2,3\n")
    other = write(tmp_path / "other.csv", table({"id": [1], "x": [2]}))
    for a, b in ((dup, other), (other, dup)):
        with pytest.raises(ValidationError) as caught:
            diff_files(a, b)
        assert str(caught.value).startswith(f"{dup}: names two columns 'x' (columns 2 and 3"), caught.value
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('id;"x;y";x\n1;2;3\n')  # a delimiter inside a quoted name is no second column
    d = diff_files(quoted, quoted)
    assert d.table is not None and d.table.empty


def test_missing_key_column_names_the_side(tmp_path: Path) -> None:
    a = write(tmp_path / "a.parquet", table(BASE))
    b = write(tmp_path / "b.parquet", table({"ident": [1], "x": [1.0]}))
    with pytest.raises(ValidationError) as caught:
        diff_files(a, b, key=["id"])
    assert "column 'id' is not in" in str(caught.value) and "b.parquet" in str(caught.value)


_rows = st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["p", "q", None])), max_size=12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows_a=_rows, rows_b=_rows, keyed=st.booleans())
def test_diff_of_a_table_with_itself_is_empty_and_a_b_mirrors_b_a(
    tmp_path: Path, rows_a: list[tuple[int, str | None]], rows_b: list[tuple[int, str | None]], keyed: bool
) -> None:
    schema = pa.schema([("id", pa.int64()), ("v", pa.string())])

    def as_table(rows: list[tuple[int, str | None]]) -> pa.Table:
        if keyed:  # a key must be unique: keep the first row of each id
            rows = list({r[0]: r for r in reversed(rows)}.values())
        return pa.table({"id": [r[0] for r in rows], "v": [r[1] for r in rows]}, schema=schema)

    a = write(tmp_path / "a.parquet", as_table(rows_a))
    b = write(tmp_path / "b.parquet", as_table(rows_b))
    key = ["id"] if keyed else None
    same = diff_files(a, a, key=key)
    assert same.empty and same.verdict.level == "none"
    forward, backward = diff_files(a, b, key=key), diff_files(b, a, key=key)
    mirrored = backward.mirrored()
    assert forward.table is not None and mirrored.table is not None
    assert forward.table.rows.to_dict() == mirrored.table.rows.to_dict()
    assert forward.table.schema.to_dict() == mirrored.table.schema.to_dict()
    assert forward.empty == backward.empty
