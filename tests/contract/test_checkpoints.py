"""Checkpoints: a ledger that lost its tail, or vanished, is detected against the head kept outside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

import mlineage
from mlineage.checkpoints import ANCHOR_FILE
from mlineage.config import load_settings
from mlineage.errors import LedgerError
from mlineage.sdk.client import Client
from tests.cli_process import run_cli as cli


@pytest.fixture
def backend_project(project: Path, store_uri: str) -> Path:
    """A project whose store is SQLite (the default file) or PostgreSQL (named in config.toml)."""
    if store_uri.startswith("postgresql"):
        (project / ".mlineage" / "config.toml").write_text(f'[store]\nuri = "{store_uri}"\n')
    return project


def two_runs(root: Path) -> None:
    client = Client(load_settings(root))
    try:
        for job in ("a", "b"):
            with mlineage.run(job, client=client) as run:
                run.log_metric("loss", 0.5)
    finally:
        client.close()


def anchor(root: Path) -> dict[str, dict[str, object]]:
    return json.loads((root / ANCHOR_FILE).read_text())["stores"]


def _sql(root: Path, *statements: str) -> None:
    client = Client(load_settings(root))
    try:
        with client.store.engine.connect() as conn, conn.begin():  # type: ignore[attr-defined]
            for statement in statements:
                conn.execute(text(statement))
    finally:
        client.close()


def _drop_triggers(root: Path, postgres: bool) -> None:
    if postgres:
        _sql(
            root,
            "DROP TRIGGER events_no_update_delete ON events",
            "DROP TRIGGER ledger_head_forward ON ledger_head",
        )
    else:
        _sql(
            root,
            "DROP TRIGGER events_no_update",
            "DROP TRIGGER events_no_delete",
            "DROP TRIGGER ledger_head_forward",
        )


def test_runs_and_add_write_the_head_to_the_anchor(backend_project: Path) -> None:
    two_runs(backend_project)
    [(key, head)] = anchor(backend_project).items()
    client = Client(load_settings(backend_project))
    try:
        assert (head["seq"], head["hash"]) == client.store.head()
    finally:
        client.close()
    assert key.startswith("postgresql") or key == "sqlite:///.mlineage/mlineage.db"
    (backend_project / "f.txt").write_text("x")
    added = cli("add", "f.txt", cwd=backend_project)
    assert added.returncode == 0, added.stderr
    assert "mlineage.checkpoint" in added.stdout  # told to commit it with the pointer
    assert anchor(backend_project)[key]["seq"] == int(head["seq"]) + 1  # type: ignore[call-overload]
    report = json.loads(cli("verify", "--json", cwd=backend_project).stdout)
    assert report["ok"] and report["checkpoint"]["seq"] == report["head_seq"]


def test_verify_names_the_events_missing_since_the_checkpoint(backend_project: Path, store_uri: str) -> None:
    postgres = store_uri.startswith("postgresql")
    two_runs(backend_project)
    head = next(iter(anchor(backend_project).values()))
    _drop_triggers(backend_project, postgres)
    seq = int(head["seq"])  # type: ignore[call-overload]
    _sql(backend_project, f"DELETE FROM events WHERE seq > {seq - 2}",
         f"UPDATE ledger_head SET seq = {seq - 2}, hash = (SELECT hash FROM events WHERE seq = {seq - 2})")
    result = cli("verify", cwd=backend_project)
    assert result.returncode == 1
    assert f"the ledger ends at seq {seq - 2}" in result.stderr
    assert f"2 event(s) written up to then are missing (seq {seq - 1} to {seq})" in result.stderr
    assert str(head["time"]) in result.stderr


def test_a_rewritten_checkpointed_event_fails(backend_project: Path, store_uri: str) -> None:
    two_runs(backend_project)
    head = next(iter(anchor(backend_project).values()))
    _drop_triggers(backend_project, store_uri.startswith("postgresql"))
    # the first hex digit changed for certain (a hash may already start with 'f')
    flip = "CASE WHEN substr(hash, 1, 1) = 'f' THEN 'e' ELSE 'f' END || substr(hash, 2)"
    _sql(backend_project, f"UPDATE events SET hash = {flip} WHERE seq = {head['seq']}",
         f"UPDATE ledger_head SET hash = {flip}")
    report = json.loads(cli("verify", "--json", cwd=backend_project).stdout)
    assert not report["ok"] and report["first_bad_seq"] == head["seq"]


def test_a_vanished_sqlite_ledger_is_refused_not_recreated(project: Path) -> None:
    two_runs(project)
    database = project / ".mlineage" / "mlineage.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    for command in (["verify"], ["runs"], ["add", "x.txt"]):
        (project / "x.txt").write_text("x")
        result = cli(*command, cwd=project)
        assert result.returncode == 1, command
        assert "is missing, but mlineage.checkpoint records its head at seq" in result.stderr
        assert "restore the database from a backup" in result.stderr and len(result.stderr.splitlines()) == 1
        assert not database.exists()
    database.write_bytes(b"")  # truncated to zero bytes
    result = cli("verify", cwd=project)
    assert result.returncode == 1 and "is empty (0 bytes)" in result.stderr
    with pytest.raises(LedgerError, match="is empty"):
        Client(load_settings(project))
    assert database.stat().st_size == 0


def test_an_emptied_postgresql_store_is_refused(project: Path, pg_admin_url: str) -> None:
    from tests.conftest import drop_pg_schema, make_pg_schema_url

    url, schema = make_pg_schema_url(pg_admin_url)
    try:
        (project / ".mlineage" / "config.toml").write_text(f'[store]\nuri = "{url}"\n')
        two_runs(project)
        drop_pg_schema(pg_admin_url, schema)
        import psycopg

        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        result = cli("verify", cwd=project)
        assert result.returncode == 1 and "the metadata store holds no events" in result.stderr
    finally:
        drop_pg_schema(pg_admin_url, schema)


def test_the_anchor_never_moves_backwards(project: Path) -> None:
    from mlineage.checkpoints import Checkpoint, read, write

    key = "sqlite:///.mlineage/mlineage.db"
    assert write(project, key, Checkpoint(5, "a" * 64, "t1"))
    assert not write(project, key, Checkpoint(3, "b" * 64, "t2"))
    assert read(project, key) == Checkpoint(5, "a" * 64, "t1")
    assert not write(project, key, Checkpoint(5, "a" * 64, "t3"))  # unchanged head: no write at all


def test_cut_and_empty_exports_fail(project: Path) -> None:
    two_runs(project)
    export = project / "ledger.jsonl"
    assert cli("export", "-o", str(export), cwd=project).returncode == 0
    lines = export.read_text().splitlines()
    assert cli("verify", "--file", str(export), cwd=project).returncode == 0
    cases = {
        "cut": "\n".join(lines[:-3]) + "\n",
        "no head": "\n".join(lines[:-1]) + "\n",
        "empty": "",
        "head kept, events cut": "\n".join(lines[:-3] + lines[-1:]) + "\n",
    }
    for name, content in cases.items():
        export.write_text(content)
        result = cli("verify", "--file", str(export), cwd=project)
        assert result.returncode == 1, name
        assert "checkpoint" in result.stderr, (name, result.stderr)
    export.write_text("\n".join(lines[:-3] + lines[-1:]) + "\n")
    assert "event lines were removed" in cli("verify", "--file", str(export), cwd=project).stderr
