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


def _script(server: ServerProcess, admin: httpx.Client, tmp_path: Path, scope: str, script: str
            ) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """Run ``script`` in a project of its own with a token of one ``scope``; then `mlineage sync` there."""
    made = admin.post("/tokens",
                      json={"name": tmp_path.name[:40], "scopes": [scope], "namespace": "refusals"})
    project, env = _project(tmp_path, server.url, made.json()["token"])
    done = subprocess.run([sys.executable, "-c", script], cwd=project, env=env, capture_output=True,
                          text=True, check=False)
    synced = subprocess.run([*CLI, "sync"], cwd=project, env=env, capture_output=True, text=True, check=False)
    return done, synced


def test_a_cycle_the_server_refuses_is_raised_at_the_call(server: ServerProcess, admin: httpx.Client,
                                                           tmp_path: Path) -> None:
    done, synced = _script(server, admin, tmp_path, "write", CLOSE_A_CYCLE)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("emit: CycleError: ") and "cycle" in lines[0]
    assert lines[1].startswith("run: CycleError: ") and lines[2] == "script went on"
    # kept aside all the same (nothing a script wrote is dropped), and said at the end and by sync
    assert "ERROR: the server" in done.stderr and "CycleError" in done.stderr
    assert synced.returncode == 1
    assert "First refusal: event " in synced.stderr and "HTTP 409: CycleError: " in synced.stderr


def test_a_run_whose_buffered_events_are_refused_raises_at_its_end(server: ServerProcess, admin: httpx.Client,
                                                                   tmp_path: Path) -> None:
    done, synced = _script(server, admin, tmp_path, "read", SHORT_RUN)
    assert done.returncode == 1 and "not reached" not in done.stdout
    refusal = f"mlineage.errors.ForbiddenError: token '{tmp_path.name[:40]}' lacks the 'write' scope"
    assert refusal in done.stderr, done.stderr
    assert "ERROR: the server" in done.stderr  # the end-of-script report as well
    assert synced.returncode == 1
    assert "First refusal: event RunStarted" in synced.stderr
    assert "HTTP 403: ForbiddenError: " in synced.stderr
