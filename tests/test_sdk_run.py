"""The run context through the public API, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

import mlineage
from mlineage.errors import AmbiguousRefError, NotFoundError, ValidationError
from mlineage.sdk.client import Client


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _metric_batch_rows(client: Client, run_id: str) -> list[tuple[str, int]]:
    from sqlalchemy import select

    from mlineage.stores.schema import metric_batches

    store = client.store
    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(select(metric_batches.c.key, metric_batches.c.seq)
                            .where(metric_batches.c.run_id == run_id)).all()
    return sorted((str(r.key), int(r.seq)) for r in rows)


def test_metric_history_is_in_order_across_batches_and_keys(client: Client) -> None:
    """Values are stored a batch per (key, event): the history of a key comes back in logging order across
    flushes, by step within one flush (as a value per row did), untouched by other keys; and a rebuild gives
    the same rows."""
    with mlineage.run("many", client=client, capture=False) as run:
        for step in range(150):
            run.log_metric("loss", 0.5 + step / 1024, step=step)
            if step % 10 == 0:
                run.log_metric("acc", 0.75 + step / 4096, step=step)
            if step == 99:
                run.flush()
        run.log_metric("loss", 0.25, step=149)  # a repeated step: kept, after the first
        run.log_metric("loss", 0.125, step=120)  # out of order within the batch: placed by step
        run.log_metrics({"lr": 1.0}, step=0)  # integral: the ledger's canonical form stores it as 1
    loss = [(step, 0.5 + step / 1024) for step in range(150)]
    loss.insert(121, (120, 0.125))
    loss.append((149, 0.25))
    history = client.store.metric_history(run.id, "loss")
    assert [(s, v) for s, v, _ in history] == loss
    assert all(ts.endswith("Z") for _, _, ts in history)
    assert [(s, v) for s, v, _ in client.store.metric_history(run.id, "acc")] == [
        (step, 0.75 + step / 4096) for step in range(0, 150, 10)]
    (lr,) = client.store.metric_history(run.id, "lr")
    assert lr[:2] == (0, 1.0) and type(lr[1]) is float
    assert client.store.metric_history(run.id, "missing") == []
    rows = _metric_batch_rows(client, run.id)
    assert [key for key, _ in rows].count("loss") == 2 and len(rows) == 5  # loss, acc x 2 flushes; lr once
    before = {key: client.store.metric_history(run.id, key) for key in ("loss", "acc", "lr")}
    client.store.rebuild()
    assert {key: client.store.metric_history(run.id, key) for key in ("loss", "acc", "lr")} == before
    assert _metric_batch_rows(client, run.id) == rows


@pytest.mark.parametrize("keys", [3, 12])
def test_metric_history_of_many_keys_logged_together(client: Client, keys: int) -> None:
    with mlineage.run("keys", client=client, capture=False) as run:
        for step in range(20):
            run.log_metrics({f"k{k}": k + step / 64 for k in range(keys)}, step=step)
    for k in range(keys):
        assert [(s, v) for s, v, _ in client.store.metric_history(run.id, f"k{k}")] == [
            (step, k + step / 64) for step in range(20)]
    assert len(_metric_batch_rows(client, run.id)) == keys
    stored = client.store.get_run(run.id)
    assert stored is not None and stored.metrics == {f"k{k}": k + 19 / 64 for k in range(keys)}


def test_run_records_inputs_outputs_params_metrics(client: Client, tmp_path: Path) -> None:
    data = write(tmp_path / "train.csv", b"a,b\n1,2\n")
    with mlineage.run("train", kind="train", params={"lr": 0.1, "layers": [64, 32]}, client=client) as run:
        dataset = run.use(data, role="training_data", name="train-data")
        run.log_param("epochs", 3)
        for step in range(5):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        model = run.produce(write(tmp_path / "model.bin", b"weights"), name="classifier")
    stored = client.store.get_run(run.id)
    assert stored is not None
    assert stored.status.value == "completed" and stored.kind.value == "train"
    assert stored.params == {"lr": 0.1, "layers": [64, 32], "epochs": 3}
    assert stored.metrics == {"loss": pytest.approx(0.2)}
    assert [v for _, v, _ in client.store.metric_history(run.id, "loss")] == pytest.approx(
        [1, 0.5, 1 / 3, 0.25, 0.2]
    )
    assert stored.context["python"]["version"]
    assert "argv" in stored.context and "user" in stored.context and "host" in stored.context
    assert stored.agent == f"{stored.context['user']}@{stored.context['host']}"
    assert dataset.name == "train-data" and dataset.version == 1
    assert model.kind.value == "model" and client.blobs.has(model.digest)
    inputs, outputs = client.store.io_of_run(run.id)
    assert [(a.digest, r) for a, r in inputs] == [(dataset.digest, "training_data")]
    assert [a.digest for a, _ in outputs] == [model.digest]


def test_failed_run_is_recorded_with_its_error(client: Client) -> None:
    with pytest.raises(ZeroDivisionError), mlineage.run("train", client=client) as run:
        1 / 0  # noqa: B018
    stored = client.store.get_run(run.id)
    assert stored is not None and stored.status.value == "failed"
    assert stored.error == {"type": "ZeroDivisionError", "message": "division by zero"}


def test_keyboard_interrupt_is_recorded_as_aborted(client: Client) -> None:
    with pytest.raises(KeyboardInterrupt), mlineage.run("train", client=client) as run:
        raise KeyboardInterrupt
    stored = client.store.get_run(run.id)
    assert stored is not None and stored.status.value == "aborted"


def test_track_decorator_records_arguments_and_files(client: Client, tmp_path: Path) -> None:
    source = write(tmp_path / "in.txt", b"hello")
    target = tmp_path / "out.txt"

    @mlineage.track(
        "copy", kind="transform", inputs=[str(source)], outputs={str(target): "dataset"}, client=client
    )
    def copy(upper: bool, sink: object = None) -> str:
        assert mlineage.active_run() is not None
        text = source.read_text()
        target.write_text(text.upper() if upper else text)
        return "done"

    assert copy(True) == "done"
    assert mlineage.active_run() is None
    stored = client.store.list_runs(limit=1)[0]
    assert stored.job == "copy" and stored.params == {"upper": True, "sink": None}
    result = client.trace(str(target))
    assert len(result.depth) == 3  # out.txt <- run <- in.txt


def test_use_by_ref_and_lineage_record(client: Client, tmp_path: Path) -> None:
    with mlineage.run("prep", client=client) as prep:
        prep.produce(write(tmp_path / "clean.csv", b"x\n1\n"), kind="dataset", name="clean")
    with mlineage.run("train", params={"C": 2.0}, client=client) as train:
        train.use("clean@1")
        train.log_metric("acc", 0.75)
        model = train.produce(write(tmp_path / "m.bin", b"m"), name="model")
    record = client.lineage_record("model@latest")
    assert record.model_id == str(model.digest)
    assert [a.name for a in record.parent_artifacts] == ["clean"]
    assert record.transformation_logic["params"] == {"C": 2.0}
    assert record.output_metrics == {"acc": 0.75}
    assert record.environment_context["python"]["version"]


def test_bad_input_is_refused_and_writes_nothing(client: Client, tmp_path: Path) -> None:
    with mlineage.run("train", client=client) as run:
        head = client.store.head()
        with pytest.raises(ValidationError, match="does not exist"):
            run.produce(tmp_path / "missing.bin")
        with pytest.raises(ValidationError, match="neither an existing path nor a known artifact"):
            run.use("no-such-thing")
        with pytest.raises(ValidationError, match="params.fn"):
            run.log_params({"fn": print})
        with pytest.raises(ValidationError, match="not a finite number"):
            run.log_metric("loss", float("inf"))
        assert client.store.head() == head
    with pytest.raises(ValidationError, match="job"):
        mlineage.run("", client=client)


def test_params_are_immutable(client: Client) -> None:
    with mlineage.run("train", params={"lr": 0.1}, client=client) as run:
        run.log_param("lr", 0.1)  # same value: fine
        with pytest.raises(ValidationError, match="immutable"):
            run.log_param("lr", 0.2)


def test_sdk_calls_that_once_closed_a_cycle_are_recorded(client: Client, tmp_path: Path) -> None:
    """Round trips through the SDK (issue 14): producing d.csv's bytes again, derived from what was made from
    it, records a second occurrence of d.csv; using the run's own output adds no edge. Neither is a cycle
    (tests/graph/test_occurrences.py has the one use that still is)."""
    data = write(tmp_path / "d.csv", b"d")
    with mlineage.run("make", client=client) as first:
        first.produce(data, kind="dataset", name="d")
    with mlineage.run("loop", client=client) as loop:
        out = write(tmp_path / "o.csv", b"o")
        loop.use("d")
        made = loop.produce(out, kind="dataset")
        loop.flush()
        again = loop.produce(data, kind="dataset", derived_from=[made])
        loop.use(made)  # the run made o.csv: using it too adds nothing to the graph
    assert client.store.get_run(loop.id).status.value == "completed"  # type: ignore[union-attr]
    up = client.trace(str(again.digest))
    assert f"run:{loop.id}" in up.keys().values() and str(made.digest) in up.keys().values()
    assert {r.id for r in client.store.producers_of(str(data_digest(data)))} == {first.id, loop.id}


def data_digest(path: Path) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_refs_resolve_and_report_ambiguity(client: Client, tmp_path: Path) -> None:
    artifacts = []
    with mlineage.run("many", client=client) as run:
        for i in range(40):
            artifacts.append(run.produce(write(tmp_path / f"f{i}", str(i).encode()), kind="file"))
    a = artifacts[0]
    assert client.resolve(str(a.digest)).digest == a.digest  # type: ignore[union-attr]
    assert client.resolve(f"sha256:{a.digest.hex[:10]}").digest == a.digest  # type: ignore[union-attr]
    assert client.resolve(f"run:{run.id[:8]}").id == run.id  # type: ignore[union-attr]
    # With 40 digests, some 1-hex-digit prefix is shared; 4 digits is the minimum, so find a shared one.
    by_prefix: dict[str, list[str]] = {}
    for art in artifacts:
        by_prefix.setdefault(art.digest.hex[:1], []).append(str(art.digest))
    shared = next(p for p, ds in by_prefix.items() if len(ds) > 1)
    with pytest.raises(ValidationError, match="too short"):
        client.resolve(f"sha256:{shared}")
    with pytest.raises(NotFoundError, match="nothing matches"):
        client.resolve("sha256:ffffffffffff0000")
    with pytest.raises(NotFoundError):
        client.resolve("nope@3")


def test_ambiguous_prefix_lists_candidates(store_uri: str, tmp_path: Path) -> None:
    from mlineage import events as ev
    from mlineage.events import NewEvent

    client = Client.for_uri(store_uri, tmp_path / "objects")
    client.append([NewEvent(ev.ARTIFACT_RECORDED, {"digest": "sha256:abcd" + "1" * 60, "kind": "file"}),
                   NewEvent(ev.ARTIFACT_RECORDED, {"digest": "sha256:abcd" + "2" * 60, "kind": "file"})])
    with pytest.raises(AmbiguousRefError) as info:
        client.resolve("abcd")
    assert len(info.value.candidates) == 2
    assert "abcd1111" in str(info.value) and "abcd2222" in str(info.value)
    client.close()


def test_public_api_surface() -> None:
    assert set(mlineage.__all__) >= {"run", "track", "active_run", "Client", "Digest", "MlineageError"}
    assert mlineage.__all__ == sorted([*mlineage._EXPORTS, "__version__"])
    for name in mlineage.__all__:
        assert getattr(mlineage, name) is not None


def test_sdk_creates_a_project_on_first_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Zero configuration: outside any project the SDK creates .mlineage/ at the git top-level."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "src").mkdir()
    monkeypatch.chdir(repo / "src")
    monkeypatch.delenv("MLINEAGE_URI", raising=False)
    monkeypatch.delenv("MLINEAGE_ARTIFACTS", raising=False)
    with mlineage.run("first") as run:
        run.log_metric("x", 1.0)
    assert (repo / ".mlineage" / "mlineage.db").is_file()
    assert not (repo / "src" / ".mlineage").exists()
    stored = mlineage.default_client().store.get_run(run.id)
    assert stored is not None and stored.status.value == "completed"


def test_metrics_take_the_short_path_or_the_checked_one_alike(client: Client) -> None:
    import numpy as np

    with mlineage.run("train", client=client) as run:
        run.log_metric("loss", 0.5, step=1)  # the short path: a float and an int step
        run.log_metric("acc", 1, step=1)  # an int value: the checked path
        run.log_metric("np", np.float32(0.25), step=2)  # a numpy scalar: converted on the checked path
        run.log_metrics({"a": 2.0, "b": 3.0}, step=3)
        for bad, match in ((float("nan"), "not a finite number"), (float("-inf"), "not a finite number"),
                           ("x", "not a number")):
            with pytest.raises(ValidationError, match=match):
                run.log_metric("loss", bad)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="step"):
            run.log_metric("loss", 0.1, step=-1)
        with pytest.raises(ValidationError, match="metric name"):
            run.log_metric("", 0.1)
    with pytest.raises(mlineage.MlineageError, match="already ended"):
        run.log_metric("loss", 0.1)
    stored = client.store.get_run(run.id)
    assert stored is not None
    assert stored.metrics == {"loss": 0.5, "acc": 1.0, "np": 0.25, "a": 2.0, "b": 3.0}
    history = client.store.metric_history(run.id, "loss")
    assert [(step, value) for step, value, _ in history] == [(1, 0.5)]
    assert history[0][2].endswith("Z") and history[0][2] >= stored.started_at


def test_metric_timestamps_are_formatted_as_utc_now_would() -> None:
    from datetime import UTC, datetime, timedelta

    from hypothesis import given
    from hypothesis import strategies as st

    from mlineage.events import utc_from_ns

    @given(st.integers(min_value=0, max_value=4_000_000_000 * 10**9))
    def check(ns: int) -> None:
        expected = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)
        assert utc_from_ns(ns) == expected.isoformat(timespec="microseconds")[:-6] + "Z"

    check()
