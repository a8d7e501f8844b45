"""A write the server refuses reaches the script as the exception a local store raises: at the call that sent
it, or at the end of the run whose buffered events it was. A refusal no call could wait for (the events
shipped later) is reported when a script ends and by `mlineage sync`, with its class and message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from .conftest import ServerProcess, free_port
from .test_offline import CLI, SCRIPT, _project

CLOSE_A_CYCLE = """
import mlineage
from mlineage.errors import CycleError
from mlineage.events import NewEvent

with mlineage.run("prep", kind="transform") as prep:
    prep.use("data.csv", kind="dataset")
    open("clean.csv", "w").write("a,b\\n1,3\\n")
    prep.produce("clean.csv", kind="dataset")
with mlineage.run("train", kind="train") as run:
    run.use("clean.csv", kind="dataset")
    open("model.pt", "w").write("weights")
    model = run.produce("model.pt", kind="model")
# data -> prep -> clean -> train -> model exists: "prep used the model" closes a cycle (identical content
# would not: it becomes a new occurrence)
closing = {"run_id": prep.id, "digest": str(model.digest)}
try:
    mlineage.default_client().append([NewEvent("ArtifactUsed", closing)])
    print("append: no error")
except CycleError as exc:
    print("append: CycleError:", exc)
with mlineage.run("link", kind="transform") as run:
    try:
        run.write_events([NewEvent("ArtifactUsed", closing)])
        print("run: no error")
    except CycleError as exc:
        print("run: CycleError:", exc)
print("script went on:", mlineage.default_client().store.get_run(run.id).status.value)
"""

SHORT_RUN = """
import mlineage
from mlineage.errors import ForbiddenError
with mlineage.run("short", kind="train", params={"lr": 0.1}) as run:
    run.log_metric("loss", 0.5)
    try:
        run.flush()
    except ForbiddenError:
        print("flush: ForbiddenError")
    run.log_metric("loss", 0.4, step=1)
print("not reached: the run's end raised")
"""

READ_ONLY = """
import mlineage
mlineage.default_client().store.list_runs()  # a script that only reads ships what the spool holds at its end
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
    assert lines[0].startswith("append: CycleError: run ") and "its own ancestor" in lines[0]
    assert lines[1].startswith("run: CycleError: ")
    # as with a local store, the refused batch wrote nothing and the run carried on to its end
    assert lines[2] == "script went on: completed"
    # the caller had the refusal: nothing is left over to report
    assert "ERROR" not in done.stderr and synced.returncode == 0, (done.stderr, synced.stderr)


def test_a_run_whose_batches_are_refused_raises_at_its_end(server: ServerProcess, admin: httpx.Client,
                                                           tmp_path: Path) -> None:
    done, synced = _script(server, admin, tmp_path, "read", SHORT_RUN)
    assert done.returncode == 1 and done.stdout.splitlines() == ["flush: ForbiddenError"]
    refusal = f"mlineage.errors.ForbiddenError: token '{tmp_path.name[:40]}' lacks the 'write' scope"
    assert refusal in done.stderr, done.stderr
    assert synced.returncode == 0  # raised to the script: nothing waits in the spool


def test_a_refusal_no_call_waited_for_is_reported_at_exit_and_by_sync(tmp_path: Path) -> None:
    """The script runs while the server is down; its events ship later and are refused (a read-only token)."""
    from mlineage.server.auth import TokenStore
    from mlineage.stores.sql import SqlStore

    store_uri = f"sqlite:///{tmp_path / 'server.db'}"
    store = SqlStore(store_uri)
    try:
        token = TokenStore(store.engine).create("ro", "read", "off")[0]
    finally:
        store.close()
    port = free_port()
    project, env = _project(tmp_path, f"http://127.0.0.1:{port}", token)
    offline = subprocess.run([sys.executable, "-c", SCRIPT], cwd=project, env=env, capture_output=True,
                             text=True, check=False)
    assert offline.returncode == 0 and "wait in the spool" in offline.stderr, offline.stderr
    server = ServerProcess(store_uri, tmp_path / "server-objects", port=port).start()
    try:
        later = subprocess.run([sys.executable, "-c", READ_ONLY], cwd=project, env=env, capture_output=True,
                               text=True, check=False)
        assert later.returncode == 0, later.stderr
        assert "ERROR: the server" in later.stderr and "refused" in later.stderr
        assert "first refusal: event RunStarted" in later.stderr
        assert "HTTP 403: ForbiddenError: " in later.stderr
        synced = subprocess.run([*CLI, "sync"], cwd=project, env=env, capture_output=True, text=True,
                                check=False)
        assert synced.returncode == 1
        assert "First refusal: event RunStarted" in synced.stderr
        assert "HTTP 403: ForbiddenError: token 'ro' lacks the 'write' scope" in synced.stderr
    finally:
        server.stop()
