"""A write the server refuses reaches the script as the exception a local store raises, at the call that sent
it (or at the end of the run whose buffered events it was), and `mlineage sync` names the refusal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from .conftest import ServerProcess
from .test_offline import CLI, _project

CLOSE_A_CYCLE = """
import mlineage
from mlineage.errors import CycleError
from mlineage.events import NewEvent
from mlineage.sdk.emit import emit

with mlineage.run("prep", kind="transform") as run:
    raw = run.use("data.csv", kind="dataset")
    open("clean.csv", "w").write("a,b\\n1,3\\n")
    clean = run.produce("clean.csv", kind="dataset")
# raw -> prep -> clean exists: "raw derives from clean" closes a cycle
closing = {"parent": str(clean.digest), "child": str(raw.digest)}
try:
    emit("ArtifactDerived", **closing)
    print("emit: no error")
except CycleError as exc:
    print("emit: CycleError:", exc)
with mlineage.run("link", kind="transform") as run:
    try:
        run.write_events([NewEvent("ArtifactDerived", closing)])
        print("run: no error")
    except CycleError as exc:
        print("run: CycleError:", exc)
print("script went on")
"""

SHORT_RUN = """
import mlineage
with mlineage.run("short", kind="train", params={"lr": 0.1}) as run:
    run.log_metric("loss", 0.5)
print("not reached: the run's end raised")
"""


def test_a_cycle_the_server_refuses_is_raised_at_the_call(server: ServerProcess, admin: httpx.Client,
                                                           tmp_path: Path) -> None:
    made = admin.post("/tokens", json={"name": "cyc", "scopes": ["write"], "namespace": "cyc"})
    token = made.json()["token"]
    project, env = _project(tmp_path, server.url, token)
    done = subprocess.run([sys.executable, "-c", CLOSE_A_CYCLE], cwd=project, env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("emit: CycleError: ") and "cycle" in lines[0]
    assert lines[1].startswith("run: CycleError: ") and lines[2] == "script went on"
    # kept aside all the same (nothing a script wrote is dropped), and said at the end and by sync
    assert "ERROR: the server" in done.stderr and "CycleError" in done.stderr
    synced = subprocess.run([*CLI, "sync"], cwd=project, env=env, capture_output=True, text=True, check=False)
    assert synced.returncode == 1
    assert "First refusal: event " in synced.stderr and "HTTP 409: CycleError: " in synced.stderr


def test_a_run_whose_buffered_events_are_refused_raises_at_its_end(server: ServerProcess, admin: httpx.Client,
                                                                   tmp_path: Path) -> None:
    made = admin.post("/tokens", json={"name": "ro2", "scopes": ["read"], "namespace": "ro2"})
    reader = made.json()["token"]
    project, env = _project(tmp_path, server.url, reader)
    done = subprocess.run([sys.executable, "-c", SHORT_RUN], cwd=project, env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 1 and "not reached" not in done.stdout
    assert "mlineage.errors.ForbiddenError: token 'ro2' lacks the 'write' scope" in done.stderr, done.stderr
    assert "ERROR: the server" in done.stderr  # the end-of-script report as well
    synced = subprocess.run([*CLI, "sync"], cwd=project, env=env, capture_output=True, text=True, check=False)
    assert synced.returncode == 1
    assert "First refusal: event RunStarted" in synced.stderr
    assert "HTTP 403: ForbiddenError: " in synced.stderr
