"""The durable spool: tracking goes on while the server is down, and killing the server mid-stream loses
and duplicates nothing once the spool drains after a restart."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import httpx
import pytest

from mlineage.errors import NotFoundError
from mlineage.events import NewEvent
from mlineage.stores.remote import RemoteStore

from .conftest import ServerProcess, admin_token


def record(i: int, tag: str) -> NewEvent:
    digest = "sha256:" + hashlib.sha256(f"{tag}-{i}".encode()).hexdigest()
    return NewEvent("ArtifactRecorded", {"digest": digest, "kind": "file", "size": i})


def event_count(server: ServerProcess, token: str) -> tuple[int, bool]:
    with httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"},
                      timeout=60) as c:
        report = c.get("/verify").json()
    return report["count"], report["ok"]


def test_tracking_continues_while_the_server_is_down(backend_uri: str, tmp_path: Path) -> None:
    server = ServerProcess(backend_uri, tmp_path / "objects")
    token = admin_token(backend_uri)
    before, _ = 0, True
    store = RemoteStore(server.url, token=token, spool_dir=tmp_path / "spool")
    try:
        store.append([record(i, "down") for i in range(50)])  # nobody listening: spooled, no error
        assert store.spool.pending() == 50
        assert store.get_artifact(str(record(3, "down").payload["digest"])) is not None  # read-your-writes
        server.start()
        before, _ = event_count(server, token)
        assert store.flush() == {"shipped": 50, "rejected": 0, "pending": 0}
        after, ok = event_count(server, token)
        assert after - before == 50 and ok
        assert store.flush()["shipped"] == 0
    finally:
        store.close()
        server.stop()


def test_kill_the_server_mid_stream_then_restart(backend_uri: str, tmp_path: Path) -> None:
    server = ServerProcess(backend_uri, tmp_path / "objects").start()
    token = admin_token(backend_uri)
    start_count, _ = event_count(server, token)
    total, per_append = 1500, 10
    store = RemoteStore(server.url, token=token, spool_dir=tmp_path / "spool", batch=100)
    tag = uuid.uuid4().hex
    shipped_some = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for k in range(0, total, per_append):
                store.append([record(i, tag) for i in range(k, k + per_append)])
                if k >= 300:
                    shipped_some.set()
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
            shipped_some.set()

    thread = threading.Thread(target=writer)
    thread.start()
    shipped_some.wait()
    server.kill()  # SIGKILL while batches are in flight
    thread.join()
    assert not errors, errors
    assert store.spool.pending() > 0  # what the dead server never acknowledged is still spooled
    server.start()
    result = store.flush()
    store.close()
    assert result["pending"] == 0 and result["rejected"] == 0
    count, ok = event_count(server, token)
    assert ok
    assert count - start_count == total  # nothing lost, nothing duplicated
    server.stop()


def test_sdk_and_cli_talk_to_the_server_through_mlineage_uri(
    server: ServerProcess, admin: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = admin.post("/tokens", json={"name": "sdk", "scopes": ["write"], "namespace": "ml"}).json()[
        "token"
    ]
    project = tmp_path / "proj"
    project.mkdir()
    (project / "data.csv").write_text("a,b\n1,2\n")
    env = {**os.environ, "MLINEAGE_URI": server.url, "MLINEAGE_TOKEN": token,
           "MLINEAGE_SPOOL": str(tmp_path / "spool"), "MLINEAGE_ARTIFACTS": str(tmp_path / "objects")}
    script = """
import mlineage
with mlineage.run("train", kind="train", params={"lr": 0.5}) as run:
    run.use("data.csv", kind="dataset", name="sdk-data")
    open("model.bin", "wb").write(b"weights")
    run.produce("model.bin", kind="model", name="sdk-model")
    run.log_metric("acc", 0.75)
print(run.id)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip().splitlines()[-1]
    cli = [sys.executable, "-m", "mlineage.cli.main"]
    trace = subprocess.run(
        [*cli, "trace", "sdk-model", "--json"],
        cwd=project,
        env=env,
        capture_output=True,
        check=False,
        text=True,
    )
    assert trace.returncode == 0, trace.stderr
    import json

    result = json.loads(trace.stdout)
    assert {n.get("name") for n in result["nodes"]} >= {"sdk-model", "sdk-data"}
    assert admin.get(f"/runs/{run_id}").json()["metrics"] == {"acc": 0.75}
    synced = subprocess.run(
        [*cli, "sync", "--json"], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    assert synced.returncode == 0, synced.stderr
    assert json.loads(synced.stdout)["pending"] == 0


def test_refused_events_are_kept_aside_and_the_rest_ships(server: ServerProcess, admin: httpx.Client,
                                                          tmp_path: Path) -> None:
    token = admin.post("/tokens", json={"name": "spooler", "scopes": ["write"], "namespace": "sp"}).json()[
        "token"
    ]
    good = [record(i, uuid.uuid4().hex) for i in range(5)]
    poison = NewEvent("RunEnded", {"run_id": f"never-{uuid.uuid4().hex}", "status": "completed"})
    store = RemoteStore(server.url, token=token, spool_dir=tmp_path / "spool")
    try:
        store.autoship = False  # spooled while the server is "away": three appends, then one flush
        store.append(good[:2])
        store.append([poison])
        store.append(good[2:])
        assert store.flush()["rejected"] == 1  # shipped later: reported, not raised
        assert store.spool.pending() == 0
        lines = store.spool.rejected_path.read_text().splitlines()
        assert len(lines) == 1 and poison.id in lines[0] and "404" in lines[0]
        for e in good:
            assert admin.get(f"/artifacts/{e.payload['digest']}").status_code == 200
        # shipped by the append that wrote them: its events are taken or refused together, as locally, and
        # the refusal is raised there as the server's class
        store.autoship = True
        together = record(99, uuid.uuid4().hex)
        again = NewEvent("RunEnded", {"run_id": f"never-{uuid.uuid4().hex}", "status": "completed"})
        with pytest.raises(NotFoundError):
            store.append([together, again])
        assert admin.get(f"/artifacts/{together.payload['digest']}").status_code == 404
        assert len(store.spool.rejected_path.read_text().splitlines()) == 1  # raised, so the caller's
    finally:
        store.close()
    bad_token = RemoteStore(server.url, token="mlt_wrong", spool_dir=tmp_path / "spool2")
    try:
        bad_token.append([record(1, uuid.uuid4().hex)])
        assert bad_token.spool.pending() == 1  # a 401 drops nothing: fix the token, then `mlineage sync`
        assert not bad_token.spool.rejected_path.exists()
    finally:
        bad_token._http.close()


def test_spool_compaction_keeps_unshipped_events(tmp_path: Path) -> None:
    from mlineage.stores.remote import spool as remote

    spool = remote.Spool(tmp_path / "s")
    events = [record(i, "compact") for i in range(10)]
    spool.write(events)
    batch, end = spool.read_batch(0, 100)
    assert len(batch) == 10
    old = remote.COMPACT_BYTES
    remote.COMPACT_BYTES = 1
    try:
        spool.acknowledge(end)
    finally:
        remote.COMPACT_BYTES = old
    assert spool.path.stat().st_size == 0 and spool.offset() == 0 and spool.pending() == 0
    spool.write(events[:3])
    with open(spool.path, "ab") as handle:  # a torn, half-written line is not shipped
        handle.write(b'{"id": "half')
    batch, end = spool.read_batch(spool.offset(), 100)
    assert [b["id"] for b in batch] == [e.id for e in events[:3]]
