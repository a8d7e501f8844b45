"""Runs that cannot hang as "running": a run whose process was killed shows as lost, `run close` records its
end; and an image given by tag only makes the environment unpinned wherever reproducibility is reported."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlineage import events as ev
from mlineage.events import NewEvent
from mlineage.graph.closure import unpinned_image

from .test_cli_exits import ml
from .test_cli_outputs import invoke


def test_a_killed_run_is_lost_until_closed(project: Path) -> None:
    script = ("import mlineage, os, signal\n"
              "run = mlineage.run('hang').start()\n"
              "run.log_metric('loss', 1.0)\n"
              "run.flush_due()\n"
              "print(run.id, flush=True)\n"
              "os.kill(os.getpid(), signal.SIGKILL)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLINEAGE_")}
    env.update(MLINEAGE_CAPTURE="basic", MLINEAGE_START_WRITE_DELAY="0")
    killed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    run_id = killed.stdout.strip()
    [lost] = json.loads(ml("runs", "--status", "lost", "--json", cwd=project).stdout)
    assert lost["id"] == run_id and lost["status"] == "lost" and "is gone" in lost["lost_reason"]
    assert json.loads(ml("runs", "--status", "running", "--json", cwd=project).stdout) == []
    assert "lost" in ml("runs", cwd=project).stdout
    assert json.loads(ml("show", run_id[:10], "--json", cwd=project).stdout)["status"] == "lost"

    out = ml("run", "close", run_id[:10], "--reason", "killed by the OOM killer", cwd=project).stdout
    assert out.strip() == f"closed run {run_id[:12]} (hang) as failed: killed by the OOM killer"
    shown = json.loads(ml("show", f"run:{run_id}", "--json", cwd=project).stdout)
    assert shown["status"] == "failed" and shown["error"] == {"type": "ClosedByUser",
                                                              "message": "killed by the OOM killer"}
    again = ml("run", "close", run_id, cwd=project, code=1).stderr
    assert "already ended as failed" in again and len(again.strip().splitlines()) == 1
    assert ml("verify", cwd=project).stdout.startswith("OK")


def test_a_live_run_is_not_lost(project: Path) -> None:
    import mlineage

    with mlineage.run("alive") as run:
        run.flush_due()
        shown = json.loads(ml("show", f"run:{run.id}", "--json", cwd=project).stdout)
        assert (
            shown["status"] == "running"
            and "lost_reason" not in shown
            and shown["context"]["pid"] == os.getpid()
        )


@pytest.fixture
def env(client: Any, store_uri: str, tmp_path: Path) -> dict[str, str]:
    model, pinned_model = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    for run_id, image, digest in (
        ("tagged", "acme/train:latest", model),
        ("pinned", "acme/train:1", pinned_model),
    ):
        container = (
            {"image": image} if run_id == "tagged" else {"image": image, "image_digest": "sha256:" + "c" * 64}
        )
        client.append([
            NewEvent(ev.RUN_STARTED, {"run_id": run_id, "job": "train", "params": {},
                                      "context": {"python": "3.11", "git": {"commit": "d" * 40},
                                                  "container": container}}),
            NewEvent(ev.ARTIFACT_RECORDED, {"digest": digest, "kind": "model", "name": f"m-{run_id}"}),
            NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": run_id, "digest": digest}),
            NewEvent(ev.RUN_ENDED, {"run_id": run_id, "status": "completed"}),
        ])
    return {"MLINEAGE_URI": store_uri, "MLINEAGE_ARTIFACTS": str(tmp_path / "objects")}


def test_an_image_by_tag_only_is_not_pinned(env: dict[str, str]) -> None:
    tagged = json.loads(invoke(env, "closure", "m-tagged", "--json", code=1))  # not reproducible: exit 1
    assert tagged["reproducible"] is False
    assert any("acme/train:latest is not pinned" in m for m in tagged["missing"])
    assert "not pinned" in invoke(env, "closure", "m-tagged", code=1)
    # recorded without an environment manifest, it is not reproducible either, but not for its image
    pinned = json.loads(invoke(env, "closure", "m-pinned", "--json", code=1))
    assert not any("not pinned" in m for m in pinned["missing"])


def test_capture_marks_a_tag_only_image() -> None:
    from mlineage.capture import environment as env_capture

    tagged = env_capture.container_info({"MLINEAGE_IMAGE": "acme/train:latest"}, fs_root=Path("/nonexistent"))
    assert tagged == {"image": "acme/train:latest", "pinned": False}
    assert unpinned_image({"container": tagged}) == "acme/train:latest"
    by_digest = env_capture.container_info({"MLINEAGE_IMAGE": "acme/train@sha256:" + "e" * 64},
                                           fs_root=Path("/nonexistent"))
    assert "pinned" not in by_digest and unpinned_image({"container": by_digest}) is None


def test_a_quiet_run_writes_heartbeats(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlineage

    monkeypatch.setenv("MLINEAGE_HEARTBEAT_SECONDS", "0")
    with mlineage.run("quiet", client=client, capture=False) as run:
        run.flush_due()  # the start
        before = client.store.head()[0]
        run.flush_due()  # nothing buffered: a heartbeat
        beats = [e for e in client.store.iter_events(before) if e.type == "RunHeartbeat"]
        assert [e.payload["run_id"] for e in beats] == [run.id]
        assert client.store.last_seen(run.id) >= beats[0].payload["at"]
    monkeypatch.setenv("MLINEAGE_HEARTBEAT_SECONDS", "3600")
    with mlineage.run("busy", client=client, capture=False) as run:
        run.flush_due()
        before = client.store.head()[0]
        run.flush_due()  # written recently: no heartbeat
        assert [e.type for e in client.store.iter_events(before)] == []


def test_a_run_silent_for_too_long_is_lost_on_any_host(client: Any, store_uri: str, tmp_path: Path) -> None:
    old = "2020-01-01T00:00:00.000000Z"
    client.append(
        [
            NewEvent(
                ev.RUN_STARTED,
                {
                    "run_id": "far-away",
                    "job": "train",
                    "params": {},
                    "context": {"host": "another-machine", "pid": 1},
                },
                ts=old,
            ),
            NewEvent("RunHeartbeat", {"run_id": "far-away", "at": "2020-01-01T00:05:00.000000Z"}, ts=old),
        ]
    )
    client.append([NewEvent(ev.RUN_STARTED, {"run_id": "fresh", "job": "train", "params": {},
                                             "context": {"host": "another-machine", "pid": 1}})])
    assert client.store.last_seen("far-away") == "2020-01-01T00:05:00.000000Z"
    env = {"MLINEAGE_URI": store_uri, "MLINEAGE_ARTIFACTS": str(tmp_path / "objects")}
    lost = json.loads(invoke(env, "runs", "--status", "lost", "--json"))
    assert [(r["id"], r["lost_reason"]) for r in lost] == [("far-away",
                                                            "no heartbeat since 2020-01-01T00:05:00.000000Z")]
    assert [r["id"] for r in json.loads(invoke(env, "runs", "--status", "running", "--json"))] == ["fresh"]
    client.rebuild()
    assert client.store.last_seen("far-away") == "2020-01-01T00:05:00.000000Z"
