"""Helpers for capture tests: a real git repository, and process caches cleared around each test."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlineage.capture import run_context


@pytest.fixture(autouse=True)
def _fresh_capture_caches() -> Iterator[None]:
    run_context.clear_cache()
    yield
    run_context.clear_cache()


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(cwd), "-c", "user.email=t@example.com", "-c", "user.name=t",
                           "-c", "commit.gpgsign=false", *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with one commit (train.py) and an origin remote carrying credentials."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "train.py").write_text("print('train')\n")
    (root / "data.bin").write_bytes(b"\0" * 10)
    git(root, "add", "train.py")
    git(root, "commit", "-q", "-m", "first")
    return root
