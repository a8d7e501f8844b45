"""With the server down a training script runs to the end from the spool; events the server refuses are
never silent (raised at the line that wrote them, or reported at the end of the script and by `mlineage
sync`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from .conftest import ServerProcess, admin_token, free_port

SCRIPT = """
import mlineage
with mlineage.run("train", kind="train", params={"lr": 0.5}) as run:
    run.use("data.csv")
    run.use("labels.csv", name="offline-labels")
    open("model.bin", "wb").write(b"weights")
    run.produce("model.bin", kind="model")
    open("head.bin", "wb").write(b"head")
    run.produce("head.bin", kind="model", name="offline-model")
print(run.id)
"""

CLI = [sys.executable, "-m", "mlineage.cli.main"]


def _project(tmp_path: Path, url: str, token: str) -> tuple[Path, dict[str, str]]:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "data.csv").write_text("a,b\n1,2\n")
    (project / "labels.csv").write_text("y\n1\n")
    env = {
        **os.environ,
        "MLINEAGE_URI": url,
        "MLINEAGE_TOKEN": token,
        "MLINEAGE_SPOOL": str(tmp_path / "spool"),
        "MLINEAGE_ARTIFACTS": str(tmp_path / "objects"),
    }
    return project, env


def test_a_script_runs_offline_and_syncs_when_the_server_is_back(tmp_path: Path) -> None:
    port = free_port()
    project, env = _project(tmp_path, f"http://127.0.0.1:{port}", "mlt_not_checked_yet")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "wait in the spool" in done.stderr and "mlineage sync" in done.stderr
    run_id = done.stdout.strip().splitlines()[-1]

    store = f"sqlite:///{tmp_path / 'server.db'}"
    server = ServerProcess(store, tmp_path / "server-objects", port=port).start()
    try:
        env["MLINEAGE_TOKEN"] = admin_token(store)
        synced = subprocess.run(
            [*CLI, "sync", "--json"], cwd=project, env=env, capture_output=True, text=True, check=False
        )
        assert synced.returncode == 0, synced.stderr
        assert json.loads(synced.stdout)["pending"] == 0
        with httpx.Client(
            base_url=server.url + "/api/v1",
            headers={"Authorization": f"Bearer {env['MLINEAGE_TOKEN']}"},
            timeout=60,
        ) as c:
            io = c.get(f"/runs/{run_id}/io").json()
            assert c.get(f"/runs/{run_id}").json()["status"] == "completed"
        assert len(io["inputs"]) >= 2 and {a["name"] for a in io["outputs"]} >= {"offline-model"}
    finally:
        server.stop()


def test_refused_events_reach_the_line_that_wrote_them(server: ServerProcess, admin: httpx.Client,
                                                      tmp_path: Path) -> None:
    """With the server up, a refusal is raised where the events were written (here the named input, which a
    run writes at once); refusals that come later are reported at exit and by sync (test_refusals.py)."""
    reader = admin.post("/tokens", json={"name": "ro", "scopes": ["read"], "namespace": "off"}).json()[
        "token"
    ]
    project, env = _project(tmp_path, server.url, reader)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert 'line 5, in <module>' in done.stderr and "ForbiddenError: token 'ro' lacks" in done.stderr


def test_runs_written_offline_read_back_as_the_runs_projection_folds_them(tmp_path: Path) -> None:
    """Read-your-writes with the server down: the run as the ledger would show it (params logged later,
    latest metrics, status), folded by the runs projection's own fold."""
    from mlineage.events import NewEvent
    from mlineage.model import RunStatus
    from mlineage.stores.remote.http import RemoteStore

    store = RemoteStore(f"http://127.0.0.1:{free_port()}", token="mlt_x", spool_dir=tmp_path / "spool")
    events = [
        NewEvent("RunStarted", {"run_id": "off-1", "job": "train", "kind": "train", "params": {"lr": 0.5}}),
        NewEvent("ParamsLogged", {"run_id": "off-1", "params": {"depth": 3}}),
        NewEvent("MetricsLogged", {"run_id": "off-1", "metrics": [{"key": "loss", "value": 0.9, "step": 0},
                                                                  {"key": "loss", "value": 0.4, "step": 1}]}),
        NewEvent("RunEnded", {"run_id": "off-1", "status": "completed"}),
    ]
    try:
        for e in events:
            store.append([e])
        run = store.get_run("off-1")
        assert run is not None
        assert run.params == {"lr": 0.5, "depth": 3} and run.metrics == {"loss": 0.4}
        assert run.status is RunStatus.COMPLETED and run.ended_at is not None
    finally:
        store._http.close()
