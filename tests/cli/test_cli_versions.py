"""Versions by name: `versions NAME`, `show NAME`, `checkout NAME@N`, and the errors for `name@` and unknown
versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import mlineage
from mlineage import events as ev
from mlineage.events import NewEvent
from mlineage.versions import versions_of

from .test_cli_exits import ml


@pytest.fixture
def data_v2(project: Path) -> dict[str, str]:
    """data@1 (one file), used by a run; data@2 (two files)."""
    (project / "data").mkdir()
    (project / "data" / "a.txt").write_text("v1\n")
    ml("add", "data", cwd=project)
    with mlineage.run("train") as run:
        run.use("data@1")
    (project / "data" / "a.txt").write_text("v2\n")
    (project / "data" / "b.txt").write_text("b\n")
    ml("add", "data", cwd=project)
    return {"run": run.id}


def test_versions_lists_every_version_with_its_users(project: Path, data_v2: dict[str, str]) -> None:
    rows = json.loads(ml("versions", "data", "--json", cwd=project).stdout)
    assert [r["version"] for r in rows] == [1, 2]
    assert [r["size"] for r in rows] == [3, 5]
    assert rows[0]["used_by"] == [{"id": data_v2["run"], "job": "train", "status": "completed"}]
    assert rows[1]["used_by"] == [] and rows[0]["recorded_by"] and rows[0]["recorded_at"]
    table = ml("versions", "data", cwd=project).stdout
    assert "data@1" in table and "data@2" in table and data_v2["run"][:12] in table
    shown = json.loads(ml("show", "data", "--json", cwd=project).stdout)
    assert shown["version"] == 2 and [v["version"] for v in shown["versions"]] == [1, 2]
    assert "@1 sha256:" in ml("show", "data", cwd=project).stdout


def test_checkout_name_at_n_restores_the_version_and_its_pointer(
    project: Path, data_v2: dict[str, str]
) -> None:
    out = ml("checkout", "data@1", cwd=project).stdout
    assert "data@1" in out
    assert (project / "data" / "a.txt").read_text() == "v1\n" and not (project / "data" / "b.txt").exists()
    assert "version: 1" in (project / "data.lin").read_text()
    ml("status", "--exit-code", cwd=project)
    ml("checkout", "data@latest", cwd=project)
    assert (project / "data" / "b.txt").read_text() == "b\n"
    assert "version: 2" in (project / "data.lin").read_text()


def test_checkout_of_a_version_refuses_to_lose_unsaved_data(project: Path, data_v2: dict[str, str]) -> None:
    (project / "data" / "a.txt").write_text("unsaved work\n")
    pointer = (project / "data.lin").read_text()
    err = ml("checkout", "data@1", cwd=project, code=1).stderr
    assert "not in the cache" in err and "--force" in err
    assert (project / "data.lin").read_text() == pointer  # nothing changed
    assert (project / "data" / "a.txt").read_text() == "unsaved work\n"
    ml("checkout", "data@1", "--force", cwd=project)
    assert (project / "data" / "a.txt").read_text() == "v1\n"


def test_a_produced_model_is_restored_where_it_was_recorded(project: Path) -> None:
    for weights in (b"one", b"two"):
        with mlineage.run("train") as run:
            (project / "model.bin").write_bytes(weights)
            run.produce("model.bin", kind="model", name="classifier")
    ml("checkout", "classifier@1", cwd=project)
    assert (project / "model.bin").read_bytes() == b"one" and "version: 1" in (
        project / "model.bin.lin"
    ).read_text()


def test_version_errors_are_one_line_and_list_what_exists(project: Path, data_v2: dict[str, str]) -> None:
    for args in (("show", "data@"), ("checkout", "data@"), ("trace", "data@")):
        err = ml(*args, cwd=project, code=1).stderr.strip()
        assert err == "error: ref: 'data@' names no version (write data@<number>, data@latest or data)"
    err = ml("checkout", "data@9", cwd=project, code=1).stderr.strip()
    assert (
        err == "error: data has no version 9: its versions are @1, @2 (`mlineage versions data` lists them)"
    )
    assert "no version 9" in ml("show", "data@9", cwd=project, code=1).stderr
    assert "no artifact is named 'nothing'" in ml("versions", "nothing", cwd=project, code=1).stderr


def test_store_lists_versions_with_who_and_when(client: Any) -> None:
    digests = ["sha256:" + c * 64 for c in "abc"]
    client.append([NewEvent(ev.ARTIFACT_RECORDED, {"digest": d, "kind": "model", "name": "m", "size": i},
                            actor=f"user{i}") for i, d in enumerate(digests)])
    client.append([NewEvent(ev.RUN_STARTED, {"run_id": "r1", "job": "eval", "kind": "evaluate", "params": {},
                                             "context": {}}),
                   NewEvent(ev.ARTIFACT_USED, {"run_id": "r1", "digest": digests[1]})])
    found = versions_of(client.store, "m")
    assert [(v.artifact.version, str(v.artifact.digest), v.actor) for v in found] == [
        (1, digests[0], "user0"), (2, digests[1], "user1"), (3, digests[2], "user2")]
    assert [r.id for r in client.store.consumers_of(digests[1])] == ["r1"]
    assert client.store.consumers_of(digests[0]) == []
