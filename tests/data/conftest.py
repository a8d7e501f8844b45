"""Fixtures for data versioning: a project on each metadata backend, the real CLI, a moto S3 server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


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
    result = subprocess.run([sys.executable, "-m", "mlineage.cli.entry", *args], cwd=cwd, env=full_env,
                            capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"mlineage {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n"
                             f"{result.stderr}")
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real S3-protocol server (moto's standalone server) on a loopback port, for the whole session."""
    pytest.importorskip("boto3")
    pytest.importorskip("moto")
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(f"moto server exited: {log.read_text()}") from None
                time.sleep(0.1)
        else:
            raise RuntimeError(f"moto server did not start on {url}: {log.read_text()}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def s3_remote(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket on the moto server; AWS settings point at it the usual way (environment)."""
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(key, raising=False)
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return f"s3://{bucket}/team/data"


def clone_project(src: Path, dst: Path) -> Path:
    """What a `git clone` gives a teammate: pointers, .gitignore files, config, but no data and no cache."""
    for path in src.rglob("*"):
        rel = path.relative_to(src)
        if rel.parts[0] == ".mlineage" and rel.as_posix() not in (".mlineage/config.toml", ".mlineage/.gitignore"):
            continue
        if path.is_file() and (path.name.endswith(".lin") or path.name in (".gitignore", "config.toml")):
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dst / rel)
    (dst / ".mlineage").mkdir(parents=True, exist_ok=True)
    return dst
