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


def test_known_inputs_and_known_leaf_outputs_wait_in_the_buffer(client: Client, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Using data the store already has (the same training set, run after run) cannot close a cycle before the
    run has outputs, and neither can producing a known artifact nothing has used (the same model saved again):
    neither costs a write of its own."""
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
        produced = run.produce(model)
        assert batches == [] and produced.digest == first.outputs[0].digest
    assert batches == [
        ["RunStarted", "ArtifactRecorded", "ArtifactUsed", "ArtifactRecorded", "ArtifactProduced", "RunEnded"]
    ]
    inputs, outputs = client.store.io_of_run(run.id)
    assert [a.digest for a, _ in inputs] == [used.digest] and [a.digest for a, _ in outputs] == [
        produced.digest
    ]
    assert client.verify().ok


def test_a_known_output_that_something_used_is_written_at_once(client: Client, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """An artifact with children in the store might reach the run (through one of its inputs), so producing it
    is written, and checked for a cycle, at the caller's line."""
    monkeypatch.setenv("MLINEAGE_START_WRITE_DELAY", "60")
    model, report = tmp_path / "model.bin", tmp_path / "report.txt"
    model.write_bytes(b"weights")
    report.write_bytes(b"accuracy 0.9")
    with mlineage.run("train", client=client, capture=False) as train:
        train.produce(model)
    with mlineage.run("evaluate", client=client, capture=False) as evaluate:
        evaluate.use(model)
        evaluate.produce(report)
    assert client.store.has_children(str(train.outputs[0].digest))
    assert not client.store.has_children(str(evaluate.outputs[0].digest))
    batches = _count_appends(client, monkeypatch)
    with mlineage.run("again", client=client, capture=False) as run:
        run.produce(model)
        assert batches == [["RunStarted", "ArtifactRecorded", "ArtifactProduced"]]


def test_producing_what_the_run_used_is_a_new_occurrence(client: Client, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A known leaf that the run itself used (a step that changed nothing) is written at once, as a new
    occurrence of that content produced by the run, never a cycle."""
    monkeypatch.setenv("MLINEAGE_START_WRITE_DELAY", "60")
    data = tmp_path / "data.bin"
    data.write_bytes(b"rows")
    with mlineage.run("record", client=client, capture=False) as first:
        first.produce(data)
    with mlineage.run("loop", client=client, capture=False) as run:
        run.use(data)
        batches = _count_appends(client, monkeypatch)
        run.produce(data)
        assert batches and batches[-1][-1] == "ArtifactProduced"  # written at the caller's line
    assert {r.id for r in client.store.producers_of(str(run.outputs[0].digest))} == {first.id, run.id}
    assert client.verify().ok


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
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
    )
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


def test_buffered_metrics_are_written_by_time_while_the_run_is_open(client: Client,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """``log_metric`` reads no clock: the flusher thread writes what is buffered every FLUSH_EVERY_SECONDS, so
    a loop that stalls after logging still has its values in the store."""
    from mlineage.sdk import run as run_module

    monkeypatch.setenv("MLINEAGE_START_WRITE_DELAY", "0.01")
    monkeypatch.setattr(run_module, "FLUSH_EVERY_SECONDS", 0.02)
    with mlineage.run("stalled", client=client, capture=False) as run:
        assert _wait_for_run(client, run.id) is not None
        run.log_metric("loss", 0.25, step=1)
        deadline = time.monotonic() + WAIT_FOR_FLUSHER_S
        while not client.store.metric_history(run.id, "loss") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [v for _, v, _ in client.store.metric_history(run.id, "loss")] == [0.25]
        run.log_metric("loss", 0.125, step=2)
    assert [(s, v) for s, v, _ in client.store.metric_history(run.id, "loss")] == [(1, 0.25), (2, 0.125)]


def test_no_metric_is_lost_to_flushes_on_other_threads(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Metrics are appended without the run's lock while the flusher thread and size-triggered flushes take
    them: every value logged by four threads at once reaches the store exactly once."""
    import threading

    from mlineage.sdk import run as run_module

    monkeypatch.setenv("MLINEAGE_START_WRITE_DELAY", "0.001")
    monkeypatch.setattr(run_module, "FLUSH_EVERY_SECONDS", 0.001)
    monkeypatch.setattr(run_module, "FLUSH_EVERY_EVENTS", 37)
    per_thread = 500
    with mlineage.run("threads", client=client, capture=False) as run:
        def log(worker: int) -> None:
            for step in range(per_thread):
                run.log_metric(f"m{worker}", float(step), step=step)

        workers = [threading.Thread(target=log, args=(w,)) for w in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    for w in range(4):
        history = client.store.metric_history(run.id, f"m{w}")
        assert [(s, v) for s, v, _ in history] == [(s, float(s)) for s in range(per_thread)]
    assert client.verify().ok


def test_log_metric_after_the_end_raises(client: Client) -> None:
    from mlineage.errors import MlineageError

    with mlineage.run("ended", client=client, capture=False) as run:
        run.log_metric("loss", 0.5)
    with pytest.raises(MlineageError, match="already ended"):
        run.log_metric("loss", 0.25)


def test_a_value_logged_while_the_run_ends_elsewhere_raises(client: Client) -> None:
    """The short path checks that the run is open, appends, then checks again: a run ended on another thread
    between the two (simulated here by an append that ends it) raises rather than dropping the value."""
    import collections

    from mlineage.errors import MlineageError

    with mlineage.run("racing", client=client, capture=False) as run:
        class EndsTheRun(collections.deque):  # type: ignore[type-arg]
            def append(self, item: object) -> None:
                super().append(item)
                run._open = False  # what end() does first, before its last flush

        run._pending_metrics = EndsTheRun()
        with pytest.raises(MlineageError, match="already ended"):
            run.log_metric("loss", 0.5)
        run._open = True
