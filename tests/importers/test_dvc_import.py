"""DVC history into the ledger: the tutorial's tags as one connected graph, idempotent re-import, md5 alias
digests that rehash to sha256 when the data is here, and errors that name the file."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlineage.errors import ValidationError
from mlineage.model import Artifact, Run
from mlineage.sdk.client import Client

from .conftest import DVC_FIXTURES, DVC_TAGS, git


def test_every_tag_imports_into_one_connected_graph(client, dvc_repo: Path) -> None:
    report = client.import_dvc(dvc_repo, all_tags=True)
    assert (report.units, report.imported, report.skipped) == (len(DVC_TAGS), len(DVC_TAGS), 0)
    model = client.resolve("model.pkl@3")  # tag 11: the random forest with n_est 100
    jobs = {n.job for n in client.trace(model).nodes.values() if isinstance(n, Run)}
    assert {"prepare", "featurize", "train", "dvc import data/data.xml.dvc"} <= jobs
    evaluate = [r for r in client.store.list_runs(100) if r.job == "evaluate"]
    assert evaluate and evaluate[0].status.value == "completed"
    inputs, outputs = client.store.io_of_run(evaluate[0].id)
    assert "model.pkl" in {role for _, role in inputs} and outputs
    # the raw data at the first tag reaches the final evaluation: one graph, not one per commit
    raw = client.resolve("data/data.xml@1")
    assert evaluate[0].id in {n.id for n in client.impact(raw).nodes.values() if isinstance(n, Run)}
    train = next(r for r in client.store.producers_of(str(model.digest)))
    assert train.params["train.n_est"] == 100 and "train.py" in train.context["dvc"]["cmd"]
    # the param changes between tags show in lineage-diff
    diff = client.lineage_diff("model.pkl@1", "model.pkl@2")  # tags 7-ml-pipeline and 9-bigrams-model
    changed = {(d.key, d.a, d.b) for d in diff.differences if d.aspect == "param"}
    assert ("featurize.featurize.max_features", "100", "200") in changed
    assert ("featurize.featurize.ngrams", "1", "2") in changed


def test_reimport_adds_nothing_and_snapshots_map_to_the_same_runs(client, dvc_repo: Path) -> None:
    client.import_dvc(dvc_repo, all_tags=True)
    head = client.store.head()
    again = client.import_dvc(dvc_repo, all_tags=True)
    assert (again.imported, again.skipped, again.appended) == (0, len(DVC_TAGS), 0)
    forced = client.import_dvc(dvc_repo, all_tags=True, force=True)  # every commit mapped again
    assert forced.imported == len(DVC_TAGS) and forced.appended == 0  # same ids, same content: skipped
    assert client.store.head() == head
    runs = {r.id for r in client.store.list_runs(100)}
    folders = client.import_dvc(folders=[DVC_FIXTURES / t for t in DVC_TAGS])
    assert folders.imported == len(DVC_TAGS)
    assert {r.id for r in client.store.list_runs(100)} == runs  # the same stages are the same runs


@pytest.fixture
def sqlite_client(tmp_path: Path) -> Iterator[Client]:
    """For what does not depend on the backend (the import tests above run on both)."""
    client = Client.for_uri(f"sqlite:///{tmp_path / 'one.db'}", tmp_path / "blobs")
    yield client
    client.close()


def test_a_history_imported_a_commit_at_a_time_continues(sqlite_client: Client) -> None:
    # data/data.xml is a plain file at the first tag and a declared dataset from the second on: its record
    # differs between the two imports, which must not make the second one collide with the first
    client = sqlite_client
    first = client.import_dvc(folders=[DVC_FIXTURES / DVC_TAGS[0]])
    assert first.imported == 1
    rest = client.import_dvc(folders=[DVC_FIXTURES / t for t in DVC_TAGS])
    assert (rest.imported, rest.skipped) == (len(DVC_TAGS) - 1, 1)
    assert client.resolve("model.pkl@3") is not None
    assert client.verify().ok


def test_a_rev_range_imports_only_its_commits(sqlite_client: Client, dvc_repo: Path) -> None:
    client = sqlite_client
    report = client.import_dvc(dvc_repo, rev_range="6-prepare-stage..7-ml-pipeline")
    assert report.units == 1
    assert {r.job for r in client.store.list_runs(100)} == {"prepare", "featurize", "train",
                                                              "dvc import data/data.xml.dvc"}


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _tiny_repo(root: Path, raw: bytes, model: bytes) -> Path:
    root.mkdir()
    (root / "dvc.lock").write_text(f"""schema: '2.0'
stages:
  train:
    cmd: python train.py
    deps:
    - path: raw.csv
      hash: md5
      md5: {_md5(raw)}
      size: {len(raw)}
    params:
      params.yaml:
        lr: 0.1
    outs:
    - path: model.bin
      hash: md5
      md5: {_md5(model)}
      size: {len(model)}
""")
    return root


def test_present_data_is_rehashed_and_joins_later_adds(sqlite_client: Client, tmp_path: Path) -> None:
    client = sqlite_client
    raw, model = b"a,b\n1,2\n", b"\x00model bytes"
    repo = _tiny_repo(tmp_path / "repo", raw, model)
    (repo / "raw.csv").write_bytes(raw)  # in the workspace
    cache = repo / ".dvc" / "cache" / "files" / "md5" / _md5(model)[:2]
    cache.mkdir(parents=True)
    (cache / _md5(model)[2:]).write_bytes(model)  # only in the DVC cache
    client.import_dvc(repo)
    for data, name in ((raw, "raw.csv"), (model, "model.bin")):
        found = client.resolve(f"md5:{_md5(data)}")
        assert isinstance(found, Artifact)
        assert str(found.digest) == "sha256:" + hashlib.sha256(data).hexdigest()
        assert found.name == name
    (tmp_path / "copy.csv").write_bytes(raw)
    added = client.record_artifact(tmp_path / "copy.csv")  # the same bytes, added later: the same node
    assert added.digest == client.resolve(f"md5:{_md5(raw)}").digest
    assert client.store.consumers_of(str(added.digest))[0].job == "train"


def test_absent_data_keeps_a_placeholder_named_by_its_alias(sqlite_client: Client, tmp_path: Path) -> None:
    client = sqlite_client
    repo = _tiny_repo(tmp_path / "repo", b"x", b"y")
    client.import_dvc(repo)
    node = client.resolve(f"md5:{_md5(b'x')}")
    assert isinstance(node, Artifact) and node.metadata["content"] == "not present when imported"
    assert node.metadata["dvc"]["md5"] == f"md5:{_md5(b'x')}"


@pytest.mark.parametrize("lock, problem", [
    ("schema: '3.0'\nstages: {}\n", "'3.0' is not a supported dvc.lock schema version"),
    ("prepare:\n  cmd: x\n", "has no 'schema' field"),
    ("schema: '2.0'\nstages: [\n", "is not valid YAML"),
    ("schema: '2.0'\nstages:\n  train:\n    cmd: x\n    deps: 7\n", "stages.train.deps: is not a list"),
    ("schema: '2.0'\nstages:\n  train:\n    cmd: x\n    outs: {a: 1}\n", "stages.train.outs: is not a list"),
    ("schema: '2.0'\nstages:\n  train:\n    cmd: x\n    params: [1]\n",
     "stages.train.params: is not a mapping"),
    ("schema: '2.0'\nstages:\n  train:\n    params: {params.yaml: 3}\n",
     "stages.train.params.params.yaml: is not a mapping"),
])
def test_bad_lock_files_are_named(tmp_path: Path, lock: str, problem: str) -> None:
    from mlineage.importers.dvc import Snapshot, map_snapshot

    with pytest.raises(ValidationError) as caught:
        map_snapshot(Snapshot("r", "r", {"dvc.lock": lock}, origin=str(tmp_path)))
    assert problem in str(caught.value) and f"{tmp_path}/dvc.lock" in str(caught.value)


def test_cli_import_dvc_and_its_errors(tmp_path: Path, dvc_repo: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from mlineage.cli.main import cli

    monkeypatch.chdir(tmp_path)
    env = {"MLINEAGE_URI": f"sqlite:///{tmp_path / 'cli.db'}", "MLINEAGE_ARTIFACTS": str(tmp_path / "blobs")}
    runner = CliRunner()
    done = runner.invoke(cli, ["import", "dvc", str(dvc_repo), "--all-tags"], env=env)
    assert done.exit_code == 0, done.output
    assert f"dvc: {len(DVC_TAGS)} commit(s), {len(DVC_TAGS)} imported, 0 already imported" in done.output
    again = runner.invoke(cli, ["import", "dvc", str(dvc_repo), "--all-tags", "--json"], env=env)
    assert '"appended": 0' in again.output
    (dvc_repo / "dvc.lock").write_text("schema: '9.9'\nstages: {}\n")
    git(dvc_repo, "commit", "-qam", "future DVC")
    bad = runner.invoke(cli, ["import", "dvc", str(dvc_repo)], env=env)
    assert bad.exit_code == 1
    assert "dvc.lock schema: '9.9' is not a supported dvc.lock schema version" in bad.output
    usage = runner.invoke(cli, ["import", "dvc", "--snapshots", str(dvc_repo), "--all-tags"], env=env)
    assert usage.exit_code == 2
