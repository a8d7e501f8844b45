"""Fault injection: a writer killed at every write step of one tracked run loses nothing and half-writes
nothing.

A child process runs one ordinary run (an input, params, metrics, a stored output). Every write it makes is a
numbered step: each SQL statement other than a read (or the connection pool's empty liveness ping), each
commit, each rename or link of a file (blobs), and each in-place write (the checkpoint file). A dry run lists
the steps and, before each one, the ledger head committed so far. Then for every step N a fresh copy of the
project runs the same child, which kills itself with ``os._exit`` just before step N. After each kill: the
chain and the checkpoint verify, the head is exactly what was committed before step N (nothing lost, nothing
extra), the projections equal a replay of the ledger (nothing half-applied), and every output the ledger
records has its bytes in the object store.

On SQLite the steps are seen through a trace callback on every sqlite3 connection; on PostgreSQL by wrapping
psycopg's ``Cursor.execute``/``executemany`` and ``Connection.commit``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

import mlineage
from mlineage.audit import compare_projections
from mlineage.config import init_project, load_settings
from mlineage.model import Digest
from mlineage.sdk.client import Client

CHILD = r"""
import json, os, sqlite3, sys
crash_at, log_path, store_uri = int(sys.argv[1]), sys.argv[2], sys.argv[3]
steps = []

if store_uri.startswith("sqlite"):
    database = os.path.join(os.getcwd(), ".mlineage", "mlineage.db")
    real_connect = sqlite3.connect

    def committed_head():
        conn = real_connect(database)
        try:
            return conn.execute("SELECT seq FROM ledger_head").fetchone()[0]
        finally:
            conn.close()
else:
    import psycopg

    def committed_head():
        with psycopg.connect(store_uri.replace("postgresql+psycopg", "postgresql")) as conn:
            return conn.execute("SELECT seq FROM ledger_head").fetchone()[0]

reading = []  # set while the dry run reads the head: its own statements are not steps

def step(what):
    if reading:
        return
    reading.append(True)
    try:
        head = committed_head() if crash_at == 0 else None
    finally:
        reading.clear()
    steps.append({"what": what[:80], "head": head})
    if len(steps) == crash_at:
        os._exit(137)

def is_write(sql):
    # the pool's liveness ping on PostgreSQL is an empty statement (";"): no write, no step
    text = str(sql).strip().strip(";").strip()
    return bool(text) and not text.upper().startswith(("SELECT", "PRAGMA", "SET", "SHOW"))

if store_uri.startswith("sqlite"):
    def on_sql(sql):
        if is_write(sql):
            step("sql " + " ".join(sql.split()))

    def connect(*args, **kwargs):
        conn = real_connect(*args, **kwargs)
        conn.set_trace_callback(on_sql)
        return conn

    sqlite3.connect = connect
else:
    for name in ("execute", "executemany"):
        real = getattr(psycopg.Cursor, name)
        def hooked(self, query, *a, _real=real, **k):
            text = (query if isinstance(query, str)
                    else query.as_string(self) if hasattr(query, "as_string") else str(query))
            if is_write(text):
                step("sql " + " ".join(text.split()))
            return _real(self, query, *a, **k)
        setattr(psycopg.Cursor, name, hooked)
    real_commit = psycopg.Connection.commit
    def commit(self):
        step("sql COMMIT")
        return real_commit(self)
    psycopg.Connection.commit = commit

for name in ("replace", "rename", "link"):
    real = getattr(os, name)
    def wrapped(src, dst, *a, _real=real, _name=name, **k):
        step(f"{_name} {os.path.basename(str(dst))}")
        return _real(src, dst, *a, **k)
    setattr(os, name, wrapped)
real_pwrite = os.pwrite
def pwrite(fd, data, offset):
    step(f"pwrite {os.path.basename(os.readlink(f'/proc/self/fd/{fd}'))}")
    return real_pwrite(fd, data, offset)
os.pwrite = pwrite

import mlineage
with mlineage.run("train", params={"lr": 0.1}) as run:
    run.use("data.csv", role="train")
    run.log_params({"epochs": 3})
    for step_number in range(3):
        run.log_metric("loss", 1.0 / (step_number + 1), step=step_number)
    with open("model.bin", "wb") as handle:
        handle.write(b"weights of this run")
    run.produce("model.bin", name="model")
with open(log_path, "w") as handle:
    json.dump(steps, handle)
"""


def _child(folder: Path, crash_at: int, log: Path, store_uri: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLINEAGE_")}
    env.update(MLINEAGE_CAPTURE="basic", MLINEAGE_START_WRITE_DELAY="600",
               PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(crash_at), str(log), store_uri],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


class _Projects:
    """Fresh copies of one starting state: a project folder holding a ledger with history (an earlier run)
    and a checkpoint file, made once and copied for every kill; on PostgreSQL its database is copied too
    (``CREATE DATABASE ... TEMPLATE``), so each copy costs a file copy instead of migrations and a run."""

    def __init__(self, backend: str, tmp_path: Path, pg_admin_url: str | None) -> None:
        self.backend, self.tmp_path, self.pg_admin_url = backend, tmp_path, pg_admin_url
        self.databases: list[str] = []
        self.template = tmp_path / "template"
        self.template.mkdir()
        init_project(self.template)
        (self.template / "data.csv").write_text("x,y\n1,2\n")
        self.template_db = self._database() if backend == "postgresql" else None
        self._uri(self.template, self.template_db)
        client = Client(load_settings(self.template))
        try:
            with mlineage.run("earlier", client=client) as earlier:
                earlier.log_metric("loss", 2.0)
        finally:
            client.close()

    def _admin(self) -> Any:
        import psycopg

        assert self.pg_admin_url is not None
        return psycopg.connect(self.pg_admin_url, autocommit=True)

    def _database(self, template: str | None = None) -> str:
        """A new database (a copy of ``template``); returns its name."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"'
                         + (f' TEMPLATE "{template}" STRATEGY WAL_LOG' if template else ""))
        self.databases.append(name)
        return name

    def _uri(self, folder: Path, database: str | None) -> str:
        if database is None:
            return f"sqlite:///{folder / '.mlineage' / 'mlineage.db'}"
        from sqlalchemy.engine import make_url

        uri = make_url(self.pg_admin_url).set(database=database).render_as_string(hide_password=False)
        (folder / ".mlineage" / "config.toml").write_text(f'[store]\nuri = "{uri}"\n')
        return uri

    def make(self, name: str) -> tuple[Path, str]:
        folder = self.tmp_path / name
        shutil.copytree(self.template, folder, symlinks=True)
        database = self._database(self.template_db) if self.template_db else None
        return folder, self._uri(folder, database)

    def drop(self, keep_template: bool = True) -> None:
        for database in [d for d in self.databases if not keep_template or d != self.template_db]:
            with self._admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            self.databases.remove(database)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_writer_killed_at_every_step_loses_and_half_writes_nothing(backend: str, tmp_path: Path,
                                                                    request: pytest.FixtureRequest,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("MLINEAGE_URI", "MLINEAGE_ARTIFACTS"):
        monkeypatch.delenv(variable, raising=False)
    admin = request.getfixturevalue("pg_admin_url") if backend == "postgresql" else None
    projects = _Projects(backend, tmp_path, admin)
    try:
        dry, uri = projects.make("dry")
        done = _child(dry, 0, tmp_path / "steps.json", uri)
        assert done.returncode == 0, done.stderr
        steps = json.loads((tmp_path / "steps.json").read_text())
        assert any(s["what"].startswith("sql COMMIT") for s in steps)
        assert any(s["what"] == "pwrite mlineage.checkpoint" for s in steps)
        client = Client(load_settings(dry))
        final_head = client.store.head()[0]
        client.close()
        projects.drop()

        for number, expected in enumerate(steps, start=1):
            folder, uri = projects.make(f"crash-{number}")
            killed = _child(folder, number, tmp_path / "unused.json", uri)
            where = f"killed before step {number} ({expected['what']})"
            assert killed.returncode == 137, (where, killed.stderr[-2000:])
            client = Client(load_settings(folder))
            try:
                report = client.verify()  # the chain, and the checkpoint file against it
                assert report.ok, (where, report.problem)
                head = client.store.head()[0]
                assert head == expected["head"], (
                    where,
                    head,
                    expected["head"],
                )  # nothing lost, nothing extra
                compared = compare_projections(client.store)
                assert compared.ok, (where, compared.problem)  # nothing half-applied
                for event in client.store.iter_events():
                    if event.type == "ArtifactRecorded" and event.payload:
                        assert client.blobs.has(Digest.parse(event.payload["digest"])) or \
                            event.payload["kind"] == "dataset", where  # a recorded output has its bytes
                train = [r for r in client.store.list_runs() if r.job == "train"]
                if head == final_head:
                    assert train and train[0].status.value == "completed", where
                elif train:
                    assert train[0].status.value == "running", where  # killed mid-run: shown as still running
            finally:
                client.close()
            shutil.rmtree(folder)
            projects.drop()
    finally:
        projects.drop(keep_template=False)
