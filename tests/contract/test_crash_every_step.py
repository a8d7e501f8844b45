"""Fault injection: a writer killed at every write step of one tracked run loses nothing and half-writes nothing.

A child process runs one ordinary run (an input, params, metrics, a stored output). Every write it makes is a
numbered step: each SQL statement other than a read (through a trace callback on every sqlite3 connection),
each rename or link of a file (blobs), and each in-place write (the checkpoint file). A dry run lists the steps and, before each one,
the ledger head committed so far. Then for every step N a fresh copy of the project runs the same child, which
kills itself with ``os._exit`` just before step N. After each kill: the chain and the checkpoint verify, the
head is exactly what was committed before step N (nothing lost, nothing extra), the projections equal a replay
of the ledger (nothing half-applied), and every output the ledger records has its bytes in the object store.

SQLite, the local store every run writes to without a server; the PostgreSQL write path commits in the same
single transaction per batch and is covered by the kill tests of the server (``tests/server/test_spool.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import mlineage
from mlineage.audit import compare_projections
from mlineage.config import load_settings
from mlineage.model import Digest
from mlineage.sdk.client import Client

CHILD = r"""
import json, os, sqlite3, sys
crash_at, log_path = int(sys.argv[1]), sys.argv[2]
database = os.path.join(os.getcwd(), ".mlineage", "mlineage.db")
real_connect = sqlite3.connect
steps = []

def committed_head():
    conn = real_connect(database)
    try:
        return conn.execute("SELECT seq FROM ledger_head").fetchone()[0]
    finally:
        conn.close()

def step(what):
    steps.append({"what": what[:80], "head": committed_head() if crash_at == 0 else None})
    if len(steps) == crash_at:
        os._exit(137)

def on_sql(sql):
    if not sql.lstrip().upper().startswith(("SELECT", "PRAGMA")):
        step("sql " + " ".join(sql.split()))

def connect(*args, **kwargs):
    conn = real_connect(*args, **kwargs)
    conn.set_trace_callback(on_sql)
    return conn

sqlite3.connect = connect
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


def _child(folder: Path, crash_at: int, log: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLINEAGE_")}
    env.update(MLINEAGE_CAPTURE="basic", MLINEAGE_START_WRITE_DELAY="600",
               PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    return subprocess.run([sys.executable, "-c", CHILD, str(crash_at), str(log)], cwd=folder, env=env,
                          capture_output=True, text=True, check=False)


def test_a_writer_killed_at_every_step_loses_and_half_writes_nothing(project: Path, tmp_path: Path) -> None:
    (project / "data.csv").write_text("x,y\n1,2\n")
    with mlineage.run("earlier") as earlier:  # a ledger with history, and a checkpoint file
        earlier.log_metric("loss", 2.0)
    template = tmp_path / "template"
    shutil.copytree(project, template)

    dry = tmp_path / "dry"
    shutil.copytree(template, dry)
    done = _child(dry, 0, tmp_path / "steps.json")
    assert done.returncode == 0, done.stderr
    steps = json.loads((tmp_path / "steps.json").read_text())
    assert any(s["what"].startswith("sql COMMIT") for s in steps)
    assert any(s["what"] == "pwrite mlineage.checkpoint" for s in steps)
    final_head = Client(load_settings(dry)).store.head()[0]

    for number, expected in enumerate(steps, start=1):
        folder = tmp_path / f"crash-{number}"
        shutil.copytree(template, folder)
        killed = _child(folder, number, tmp_path / "unused.json")
        where = f"killed before step {number} ({expected['what']})"
        assert killed.returncode == 137, (where, killed.stderr[-2000:])
        client = Client(load_settings(folder))
        try:
            report = client.verify()  # the chain, and the checkpoint file against it
            assert report.ok, (where, report.problem)
            head = client.store.head()[0]
            assert head == expected["head"], (where, head, expected["head"])  # nothing lost, nothing extra
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
