"""A run's start is buffered: a short run is one write, a longer one shows up as running within the delay,
and a process killed after that delay still leaves its run in the store."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mlineage
from mlineage.events import NewEvent
from mlineage.sdk.client import Client

WAIT_FOR_FLUSHER_S = 30.0  # how long to wait for the background write (a correctness wait, not a timing)


def _wait_for_run(client: Client, run_id: str) -> object:
    deadline = time.monotonic() + WAIT_FOR_FLUSHER_S
    while time.monotonic() < deadline:
        found = client.store.get_run(run_id)
        if found is not None:
            return found
        time.sleep(0.02)
    return None


def _count_appends(client: Client, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    batches: list[list[str]] = []
    original = client.append

    def counting(events: list[NewEvent]) -> object:
        batches.append([e.type for e in events])
        return original(events)

    monkeypatch.setattr(client, "append", counting)
    return batches


def test_a_short_run_is_one_write(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLINEAGE_START_WRITE_DELAY", "60")
    batches = _count_appends(client, monkeypatch)
    with mlineage.run("short", client=client, capture=False) as run:
        run.log_metric("loss", 0.5)
        assert client.store.get_run(run.id) is None  # still buffered
    assert batches == [["RunStarted", "MetricsLogged", "RunEnded"]]
    stored = client.store.get_run(run.id)
    assert stored is not None and stored.status.value == "completed"


def test_known_inputs_wait_in_the_buffer_but_known_outputs_do_not(client: Client, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Using data the store already has (the same training set, run after run) cannot close a cycle before the
    run has outputs, so it costs no write of its own; producing a known artifact might, so it is checked now."""
    monkeypatch.setenv("MLINEAGE_START_WRITE_DELAY", "60")
    data, model = tmp_path / "train.csv", tmp_path / "model.bin"
    data.write_bytes(b"a,b\n1,2\n")
    model.write_bytes(b"weights")
    with mlineage.run("first", client=client, capture=False) as first:
        first.use(data)
        first.produce(model)
    batches = _count_appends(client, monkeypatch)
    with mlineage.run("again", client=client, capture=False) as run:
        used = run.use(data)
        assert batches == [] and used.digest == first.inputs[0].digest
        run.produce(model)
        assert batches == [["RunStarted", "ArtifactRecorded", "ArtifactUsed", "ArtifactRecorded", "ArtifactProduced"]]
    inputs, outputs = client.store.io_of_run(run.id)
    assert [a.digest for a, _ in inputs] == [used.digest] and len(outputs) == 1


def test_a_longer_run_shows_up_as_running(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLINEAGE_START_WRITE_DELAY", "0.05")
    with mlineage.run("long", client=client, capture=False) as run:
        found = _wait_for_run(client, run.id)
        assert found is not None and found.status.value == "running"  # type: ignore[attr-defined]
        run.log_metric("loss", 0.1)
    stored = client.store.get_run(run.id)
    assert stored is not None and stored.status.value == "completed" and stored.metrics == {"loss": 0.1}
    assert client.verify().ok


def test_delay_zero_writes_the_start_at_once(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLINEAGE_START_WRITE_DELAY", "0")
    batches = _count_appends(client, monkeypatch)
    with mlineage.run("eager", client=client, capture=False) as run:
        stored = client.store.get_run(run.id)
        assert stored is not None and stored.status.value == "running"
    assert batches == [["RunStarted"], ["RunEnded"]]


def test_a_killed_process_leaves_its_run_as_running(tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    script = f"""
import os, sys, time
import mlineage
from mlineage.sdk.client import Client
client = Client.for_uri("sqlite:///{store}", {str(tmp_path / "objects")!r})
run = mlineage.run("killed", client=client, capture=False).start()
print(run.id, flush=True)
deadline = time.monotonic() + {WAIT_FOR_FLUSHER_S}
while client.store.get_run(run.id) is None and time.monotonic() < deadline:
    time.sleep(0.02)
os._exit(9)  # no clean-up, no end: as if the job were killed
"""
    env = dict(os.environ, MLINEAGE_START_WRITE_DELAY="0.05")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 9, done.stderr
    run_id = done.stdout.split()[0]
    client = Client.for_uri(f"sqlite:///{store}", tmp_path / "objects")
    try:
        stored = client.store.get_run(run_id)
        assert stored is not None and stored.status.value == "running"
        assert client.verify().ok
    finally:
        client.close()


def test_the_flusher_thread_leaves_when_idle_and_comes_back(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlineage.sdk import flusher

    monkeypatch.setattr(flusher, "IDLE_EXIT_SECONDS", 0.05)
    own = flusher._Flusher()

    class Item:
        def __init__(self) -> None:
            self.flushed = 0

        def flush_due(self) -> None:
            self.flushed += 1

    def wait_until(condition: object) -> bool:
        deadline = time.monotonic() + WAIT_FOR_FLUSHER_S
        while time.monotonic() < deadline:
            if condition():  # type: ignore[operator]
                return True
            time.sleep(0.01)
        return False

    first, second = Item(), Item()
    own.schedule(first, 0.01)
    assert wait_until(lambda: first.flushed == 1)
    assert wait_until(lambda: own._thread is None)  # idle: the thread has gone
    own.schedule(second, 0.01)
    assert wait_until(lambda: second.flushed == 1)
    assert first.flushed == 1
