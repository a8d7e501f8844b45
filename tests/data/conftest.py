"""Fixtures for data versioning: a project on each metadata backend, the real CLI, a moto S3 server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imported_src() -> str:
    import mlineage

    return str(Path(mlineage.__file__).resolve().parents[1])


SRC = _imported_src()


@pytest.fixture
def data_project(project: Path, store_uri: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An initialised project (cwd) whose ledger is a fresh SQLite file or PostgreSQL schema."""
    monkeypatch.setenv("MLINEAGE_URI", store_uri)
    return project


@pytest.fixture
def sqlite_project(project: Path) -> Path:
    """A project on its default SQLite ledger: for tests about files, not the metadata backend."""
    return project


def workspace(**kwargs: object) -> Workspace:  # noqa: F821
    from mlineage.data.workspace import Workspace

    return Workspace(**kwargs)  # type: ignore[arg-type]


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()  # replace, never edit in place: the old inode may be a hardlink into the cache
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    """The real console entry point, in a subprocess (stdout/stderr piped, so no progress bars)."""
    full_env = dict(os.environ, **(env or {}))
    # the subprocess runs the mlineage this test process imported (a relative `PYTHONPATH=src` would not reach
    # it from the project folder, and the venv's own copy would run instead)
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [SRC, full_env.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-m", "mlineage.cli.entry", *args], cwd=cwd, env=full_env,
                            capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"mlineage {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n"
                             f"{result.stderr}")
    return result


@pytest.fixture
def s3_remote(s3_bucket: str) -> str:
    """A remote URI in a fresh bucket on the loopback S3 server (see tests/conftest.py)."""
    return f"s3://{s3_bucket}/team/data"


def clone_project(src: Path, dst: Path) -> Path:
    """What a `git clone` gives a teammate: pointers, .gitignore files, config, but no data and no cache."""
    for path in src.rglob("*"):
        rel = path.relative_to(src)
        if rel.parts[0] == ".mlineage" and rel.as_posix() not in (
            ".mlineage/config.toml",
            ".mlineage/.gitignore",
        ):
            continue
        if path.is_file() and (path.name.endswith(".lin") or path.name in (".gitignore", "config.toml")):
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dst / rel)
    (dst / ".mlineage").mkdir(parents=True, exist_ok=True)
    return dst
