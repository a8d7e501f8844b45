"""Shared helpers for the import tests: the fixtures of real peers, and a git repository built from the DVC
tutorial's tag folders (one commit and tag per folder, in tutorial order)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
if not FIXTURES.is_dir():  # a worktree beside the main checkout: shared/ is next to the checkouts
    FIXTURES = Path("/work/shared/fixtures")
DVC_TAGS = ["2-track-data", "6-prepare-stage", "7-ml-pipeline", "9-bigrams-model",
            "11-random-forest-experiments", "HEAD"]
DVC_FIXTURES = FIXTURES / "dvc-example-get-started"


def git(repo: Path, *args: str, date: str | None = None) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.com")
    if date:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=env).stdout


def build_tag_repo(repo: Path) -> Path:
    """A git repository whose history is the tutorial's tags: each folder's files replace the previous
    commit's, committed and tagged with the folder's name."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    for day, tag in enumerate(DVC_TAGS, start=1):
        for child in repo.iterdir():
            if child.name != ".git":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        # plain copies: copy2 would keep the fixtures' mtimes, and two versions of a file with the same size
        # and mtime look unchanged to git's index
        shutil.copytree(DVC_FIXTURES / tag, repo, dirs_exist_ok=True, copy_function=shutil.copy)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "--allow-empty", "-m", tag, date=f"2024-01-{day:02d}T12:00:00Z")
        git(repo, "tag", f"v-{tag}" if tag == "HEAD" else tag)
    return repo


@pytest.fixture
def dvc_repo(tmp_path: Path) -> Path:
    return build_tag_repo(tmp_path / "example-get-started")
