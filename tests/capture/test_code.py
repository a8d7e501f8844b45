"""The code manifest: git state anchored by digests even when dirty, and named files outside git."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mlineage.capture import code as code_capture
from mlineage.capture.git import remote_urls

from .conftest import git

pytestmark = pytest.mark.full_capture


def test_clean_repository(repo: Path) -> None:
    state = code_capture.git_state(repo)
    assert state is not None
    assert state["commit"] == git(repo, "rev-parse", "HEAD") and state["branch"] == "main"
    assert state["dirty"] is True  # data.bin is untracked
    assert state["untracked"] == [] and state["untracked_other"] == 1  # a .bin is not source
    assert "diff_sha256" not in state


def test_uncommitted_change_gets_its_own_anchor(repo: Path) -> None:
    (repo / "train.py").write_text("print('changed')\n")
    first = code_capture.git_state(repo)
    assert first is not None and first["dirty"] and first["changed_files"] == 1
    diff = first["diff_sha256"]
    code_capture.clear_cache()
    (repo / "train.py").write_text("print('changed again')\n")
    second = code_capture.git_state(repo)
    assert second is not None and second["diff_sha256"] != diff
    (repo / "helper.py").write_text("x = 1\n")
    code_capture.clear_cache()
    third = code_capture.git_state(repo)
    assert third is not None
    assert [f["path"] for f in third["untracked"]] == ["helper.py"]
    assert third["untracked"][0]["digest"].startswith("sha256:")


def test_state_is_cached_until_head_or_index_moves(repo: Path) -> None:
    first = code_capture.git_state(repo)
    assert code_capture.git_state(repo) is first  # warm: no subprocess
    (repo / "helper.py").write_text("x = 1\n")
    git(repo, "add", "helper.py")  # the index changes: recomputed
    second = code_capture.git_state(repo)
    assert second is not first and second is not None and second["changed_files"] == 1
    git(repo, "commit", "-q", "-m", "second")
    third = code_capture.git_state(repo)
    assert first is not None and third is not None and third["commit"] != first["commit"]


def test_remote_credentials_are_stripped(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://alice:s3cr3tpw@git.example.com/team/models.git")
    assert remote_urls(repo / ".git")["origin"].startswith("https://alice:")  # the raw reader
    state = code_capture.git_state(repo)
    assert state is not None and state["remote"] == "https://git.example.com/team/models.git"


def test_manifest_paths_are_relative_to_the_repository(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", [str(repo / "train.py")])
    monkeypatch.setattr(sys.modules["__main__"], "__file__", str(repo / "train.py"), raising=False)
    doc = code_capture.code_manifest(repo)
    assert doc["entry"]["path"] == "train.py" and doc["entry"]["digest"].startswith("sha256:")
    assert "root" not in doc["git"]


def test_outside_git_named_source_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "plain"
    (project / "pkg").mkdir(parents=True)
    (project / "pkg" / "model.py").write_text("A = 1\n")
    (project / "pkg" / "weights.bin").write_bytes(b"x")
    (project / "config.yaml").write_text("lr: 0.1\n")
    monkeypatch.chdir(project)
    doc = code_capture.code_manifest(project, (str(project / "pkg"), "config.yaml"))
    assert "git" not in doc
    paths = [f["path"] for f in doc["files"]]
    assert paths == sorted(paths) and len(paths) == 2
    assert any(p.endswith("pkg/model.py") for p in paths) and any(p.endswith("config.yaml") for p in paths)
    before = {f["path"]: f["digest"] for f in doc["files"]}
    (project / "pkg" / "model.py").write_text("A = 2\n")
    after = {
        f["path"]: f["digest"] for f in code_capture.code_manifest(project, (str(project / "pkg"),))["files"]
    }
    changed = [p for p in after if after[p] != before.get(p)]
    assert len(changed) == 1 and changed[0].endswith("model.py")
