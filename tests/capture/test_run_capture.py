"""Every run links its code and environment manifests, stored once as content-addressed context artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mlineage
from mlineage import events as ev
from mlineage.capture import run_context
from mlineage.model import Digest
from mlineage.sdk.client import Client

pytestmark = pytest.mark.full_capture


def _context_inputs(client: Client, run_id: str) -> dict[str, str]:
    inputs, _ = client.store.io_of_run(run_id)
    return {role: str(a.digest) for a, role in inputs if role in ("code", "environment")}


def test_run_links_code_and_environment_artifacts(client: Client) -> None:
    with mlineage.run("train", kind="train", client=client) as run:
        pass
    stored = client.store.get_run(run.id)
    assert stored is not None
    linked = _context_inputs(client, run.id)
    assert set(linked) == {"code", "environment"}
    assert stored.context["code"]["digest"] == linked["code"]
    assert stored.context["environment"]["digest"] == linked["environment"]
    for role, digest in linked.items():
        artifact = client.artifact(digest)
        assert artifact.kind.value == role
        with client.blobs.open(Digest.parse(digest)) as handle:
            document = json.loads(handle.read())
        assert document["schema"] == f"mlineage.{role}/1"
    env = client.artifact(linked["environment"])
    assert env.metadata["packages"] > 10 and env.metadata["packages_digest"].startswith("sha256:")


def test_identical_environments_dedupe(client: Client) -> None:
    runs = []
    for i in range(3):
        with mlineage.run(f"job{i}", client=client) as run:
            pass
        runs.append(run)
    envs = {_context_inputs(client, r.id)["environment"] for r in runs}
    codes = {_context_inputs(client, r.id)["code"] for r in runs}
    assert len(envs) == 1 and len(codes) == 1
    recorded = [e for e in client.store.iter_events() if e.type == ev.ARTIFACT_RECORDED]
    assert len(recorded) == 2  # one code and one environment artifact for all three runs


def test_a_new_client_on_the_same_store_does_not_record_again(
    client: Client, store_uri: str, tmp_path: Path
) -> None:
    with mlineage.run("a", client=client):
        pass
    other = Client.for_uri(store_uri, tmp_path / "objects")
    try:
        with mlineage.run("b", client=other):
            pass
        recorded = [e for e in other.store.iter_events() if e.type == ev.ARTIFACT_RECORDED]
        assert len(recorded) == 2
    finally:
        other.close()


def test_model_lineage_reaches_code_and_environment(client: Client, tmp_path: Path) -> None:
    model_file = tmp_path / "model.bin"
    model_file.write_bytes(b"weights")
    with mlineage.run("train", client=client) as run:
        model = run.produce(model_file)
    kinds = {n.kind.value for n in client.trace(model).nodes.values() if hasattr(n, "digest")}
    assert {"code", "environment", "model"} <= kinds


def test_capture_can_be_switched_off(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    with mlineage.run("plain", client=client, capture=False) as run:
        pass
    assert _context_inputs(client, run.id) == {}
    monkeypatch.setenv("MLINEAGE_CAPTURE", "basic")
    with mlineage.run("plain2", client=client) as run2:
        pass
    stored = client.store.get_run(run2.id)
    assert stored is not None and _context_inputs(client, run2.id) == {} and "python" in stored.context


def test_a_capture_failure_never_fails_the_run(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(run_context, "capture_run", broken)
    with mlineage.run("resilient", client=client) as run:
        pass
    stored = client.store.get_run(run.id)
    assert stored is not None and stored.status.value == "completed"
    assert stored.context["capture_error"] == "OSError: disk on fire"


def test_named_source_files_enter_the_code_manifest(client: Client, tmp_path: Path) -> None:
    source = tmp_path / "model_def.py"
    source.write_text("LAYERS = 3\n")
    with mlineage.run("a", client=client, source_files=[source]) as first:
        pass
    source.write_text("LAYERS = 4\n")
    with mlineage.run("b", client=client, source_files=[source]) as second:
        pass
    assert _context_inputs(client, first.id)["code"] != _context_inputs(client, second.id)["code"]


def test_warm_capture_reuses_the_cached_manifests() -> None:
    first = run_context.capture_run()
    second = run_context.capture_run()
    assert [m.digest for m in first.manifests] == [m.digest for m in second.manifests]
    assert all(a is b for a, b in zip(first.manifests, second.manifests))  # no re-serialisation


def test_lineage_record_separates_parents_from_code_and_environment(client: Client, tmp_path: Path) -> None:
    data, model_file = tmp_path / "train.csv", tmp_path / "model.bin"
    data.write_text("a\n1\n")
    model_file.write_bytes(b"weights")
    with mlineage.run("train", client=client) as run:
        dataset = run.use(data)
        model = run.produce(model_file)
    record = client.lineage_record(model)
    assert [str(a.digest) for a in record.parent_artifacts] == [str(dataset.digest)]
    linked = _context_inputs(client, run.id)
    assert record.transformation_logic["code_manifest"]["digest"] == linked["code"]
    assert record.environment_context["environment"]["digest"] == linked["environment"]


def test_capture_runs_beside_the_job_and_sees_where_the_run_started(
    client: Client, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a buffered start, ``start()`` returns before the capture (``git status`` on a first run) is done;
    the capture uses the folder the run started in, even if the job changes folder at once."""
    import threading

    monkeypatch.setenv("MLINEAGE_START_WRITE_DELAY", "60")
    release, entered = threading.Event(), threading.Event()
    real = run_context.capture_run

    def slow(*args: object, **kwargs: object) -> object:
        entered.set()
        assert release.wait(30), "the test never released the capture"
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(run_context, "capture_run", slow)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(repo)
    run = mlineage.run("train", client=client).start()  # returns although the capture is blocked
    assert entered.wait(30)
    monkeypatch.chdir(elsewhere)
    release.set()
    run.__exit__(None, None, None)
    stored = client.store.get_run(run.id)
    assert stored is not None and stored.status.value == "completed"
    assert stored.context["git"]["commit"] == git_commit(repo)  # the repository it started in
    assert set(_context_inputs(client, run.id)) == {"code", "environment"}


def git_commit(root: Path) -> str:
    from .conftest import git

    return git(root, "rev-parse", "HEAD")
