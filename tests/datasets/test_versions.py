"""Semantic versions, profiles and rollbacks recorded in the ledger, through the real CLI, on SQLite and
PostgreSQL; the projections rebuilt from the events."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa

from tests.data.conftest import SRC, cli

from .helpers import table, write

V1 = {"id": [1, 2, 3, 4], "x": [1.0, 2.0, 3.0, 4.0], "name": ["a", "b", "c", "d"]}


def _add(path: Path, t: pa.Table, *args: str) -> dict:
    write(path, t)
    out = cli("add", str(path.name), "--json", *args, cwd=path.parent)
    [row] = json.loads(out.stdout)
    return row


def _versions(name: str, cwd: Path) -> list[dict]:
    return json.loads(cli("versions", name, "--json", cwd=cwd).stdout)


def _dataset_tables(store_uri: str) -> dict[str, list[tuple]]:
    from mlineage.stores.sql import SqlStore

    store = SqlStore(store_uri)
    try:
        from sqlalchemy import text

        with store.engine.connect() as conn:
            return {
                t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY 1, 2"))]
                for t in ("dataset_versions", "dataset_profiles", "dataset_rollbacks")
            }
    finally:
        store.close()


def test_semver_profile_rollback_and_trace(data_project: Path, store_uri: str) -> None:
    root = data_project
    data = root / "sales.parquet"
    first = _add(data, table(V1), "--semver", "--key", "id")
    assert first["semver"]["semver"] == "1.0.0" and first["semver"]["level"] == "initial"
    second = _add(data, table(dict(V1, x=[1.0, 2.5, 3.0, 4.0])), "--semver")  # the key is remembered
    assert second["semver"]["semver"] == "1.0.1"
    assert second["semver"]["reasons"] == ["patch: 1 row changed (x 1)"]
    assert second["semver"]["previous"] == {"digest": first["digest"], "version": 1, "semver": "1.0.0"}
    third = _add(
        data,
        table({"id": [1, 2, 3, 4, 5], "x": [1.0, 2.5, 3.0, 4.0, 5.0], "name": ["a", "b", "c", "d", "e"]}),
        "--semver",
    )
    assert third["semver"]["semver"] == "1.1.0" and third["semver"]["reasons"] == ["minor: 1 row added"]

    rows = _versions("sales.parquet", root)
    assert [(r["version"], r["semver"], r["rows"], r["level"]) for r in rows] == [
        (1, "1.0.0", 4, "initial"),
        (2, "1.0.1", 4, "patch"),
        (3, "1.1.0", 5, "minor"),
    ]

    # name@MAJOR.MINOR.PATCH resolves like name@N, everywhere a REF is taken
    d = json.loads(
        cli("diff", "sales.parquet@1.0.0", "sales.parquet@1.1.0", "--key", "id", "--json", cwd=root).stdout
    )
    assert d["table"]["rows"]["added"] == 1 and d["table"]["rows"]["changed"] == 1
    assert d["a"]["semver"] == "1.0.0" and d["b"]["version"] == 3
    out = cli("checkout", "sales.parquet@1.0.1", cwd=root).stdout
    assert "sales.parquet@2" in out

    # a profile is stored with each version, as a content-addressed blob
    prof = json.loads(cli("profile", "sales.parquet@1.1.0", "--json", cwd=root).stdout)
    assert prof["stored"] is True and prof["rows"] == 5

    # roll back to 1.0.0: the data, the pointer and a rollback event
    done = json.loads(
        cli(
            "rollback",
            "sales.parquet",
            "--to",
            "sales.parquet@1.0.0",
            "--reason",
            "x was wrong",
            "--json",
            cwd=root,
        ).stdout
    )
    assert done["from"] == {"digest": second["digest"], "version": 2, "semver": "1.0.1"}
    assert done["to"]["semver"] == "1.0.0" and done["reason"] == "x was wrong"
    import pyarrow.parquet as pq

    assert pq.read_table(data).to_pydict() == V1
    assert "version: 1" in (root / "sales.parquet.lin").read_text()
    rows = _versions("sales.parquet", root)
    [rb] = rows[0]["rollbacks_to"]
    assert rb["reason"] == "x was wrong" and rb["from"]["version"] == 2 and rb["by"]
    then = json.loads(cli("versions", "sales.parquet", "--as-of", f"seq:{rows[2]['seq'] - 1}", "--json",
                          cwd=root).stdout)  # before the third version and the rollback
    assert [r["semver"] for r in then] == ["1.0.0", "1.0.1"] and then[0]["rollbacks_to"] == []

    # a model trained on the rolled-back data traces to version 1
    script = (
        "import mlineage\n"
        "with mlineage.run('train', kind='train') as run:\n"
        "    run.use('sales.parquet')\n"
        "    open('model.bin', 'wb').write(b'm' * 100)\n"
        "    run.produce('model.bin', kind='model', name='model')\n"
    )
    subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        check=True,
        env=dict(__import__("os").environ, PYTHONPATH=SRC),
    )
    trace = json.loads(cli("trace", "model", "--json", cwd=root).stdout)
    assert first["digest"] in json.dumps(trace) and second["digest"] not in json.dumps(trace)
    data_of_model = json.loads(cli("diff", "model:data", "sales.parquet@1.1.0", "--json", cwd=root).stdout)
    assert data_of_model["a"]["semver"] == "1.0.0"

    # the projections are folds of the events: rebuild gives them back row for row
    before = _dataset_tables(store_uri)
    assert len(before["dataset_versions"]) == 3 and len(before["dataset_profiles"]) == 3
    assert len(before["dataset_rollbacks"]) == 1
    cli("rebuild", cwd=root)
    assert _dataset_tables(store_uri) == before


def test_override_is_recorded_and_bad_input_changes_nothing(data_project: Path, store_uri: str) -> None:
    root = data_project
    data = root / "t.csv"
    _add(data, table(V1), "--semver")
    second = _add(data, table(dict(V1, x=[9.0, 2.0, 3.0, 4.0])), "--version", "2.0.0", "--key", "id")
    assert second["semver"]["semver"] == "2.0.0" and second["semver"]["proposed"] == "1.0.1"
    assert second["semver"]["overridden"] is True
    rows = _versions("t.csv", root)
    assert rows[1]["overridden"] is True and rows[1]["semver"] == "2.0.0"
    text = cli("versions", "t.csv", cwd=root).stdout
    assert "2.0.0 (set by hand)" in text

    before = _dataset_tables(store_uri)
    pointer = (root / "t.csv.lin").read_text()
    write(data, table(dict(V1, x=[9.0, 2.0, 3.0, 5.0])))
    refused = cli("add", "t.csv", "--version", "1.5.0", cwd=root, check=False)
    assert refused.returncode == 1 and "does not come after t.csv's latest version 2.0.0" in refused.stderr
    for args, message in (
        (("diff", "nope@1", "t.csv@1"), "no artifact is named 'nope'"),
        (("diff", "t.csv@1", "t.csv@7.0.0"), "t.csv has no version 7.0.0"),
        (("diff", "t.csv@1", "t.csv@2", "--key", "missing"), "column 'missing' is not in"),
        (("checkout", "t.csv@3.0.0"), "has no version 3.0.0"),
        (("rollback", "t.csv", "--to", "other@1"), "is a version of other, not of t.csv"),
        (("drift", "t.csv@1", "t.csv@2", "--threshold", "bogus"), "is not METRIC=VALUE"),
    ):
        result = cli(*args, cwd=root, check=False)
        assert result.returncode == 1, args
        assert message in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)
    assert _dataset_tables(store_uri) == before
    assert (root / "t.csv.lin").read_text() == pointer


def test_drift_exit_code(data_project: Path) -> None:
    import numpy as np

    root = data_project
    rng = np.random.default_rng(3)
    data = root / "m.parquet"
    _add(data, pa.table({"v": rng.normal(0, 1, 5000)}), "--semver")
    _add(data, pa.table({"v": rng.normal(0, 1, 5000)}), "--semver")
    _add(data, pa.table({"v": rng.normal(1, 1, 5000)}), "--semver")
    calm = cli("drift", "m.parquet@1", "m.parquet@2", cwd=root, check=False)
    assert calm.returncode == 0 and "0 of 1 column(s) drifted" in calm.stdout
    moved = cli("drift", "m.parquet@1", "m.parquet@3", "--json", cwd=root, check=False)
    assert moved.returncode == 1 and json.loads(moved.stdout)["drifted"] == ["v"]
