"""Fixtures for the server tests: the server runs as a real uvicorn process on a loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_ADMIN_URL, _pg_available, drop_pg_schema, make_pg_schema_url

# the checkout's parent holds shared/ (main), or its grandparent does (a worktree under wt/)
FIXTURES = next((p / "shared" / "fixtures" for p in Path(__file__).resolve().parents[2:5]
                 if (p / "shared" / "fixtures").is_dir()), Path("shared") / "fixtures")
OL_FIXTURES = FIXTURES / "openlineage"
MARQUEZ_FIXTURES = FIXTURES / "marquez" / "api" / "src" / "test" / "resources" / "open_lineage"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    store_uri: str
    artifacts: Path | str  # a folder, or an s3:// URI
    port: int = field(default_factory=free_port)
    log_dir: Path | None = None
    extra: list[str] = field(default_factory=list)
    auth: bool = True
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        args = [sys.executable, "-m", "mlineage.cli.main", "server", "--store", self.store_uri, "--artifacts",
                str(self.artifacts), "--port", str(self.port), "--max-body-mb", "1"]
        if not self.auth:
            args.append("--no-auth")
        args += self.extra
        folder = self.log_dir or Path(self.artifacts).parent
        self.log = folder / f"server-{self.port}.log"
        env = dict(os.environ)
        env.pop("MLINEAGE_URI", None)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
        for _ in range(600):  # bounded polling until the port answers (no timing assertion)
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None


def admin_token(store_uri: str) -> str:
    from mlineage.server.auth import TokenStore
    from mlineage.stores.sql import SqlStore

    store = SqlStore(store_uri)
    try:
        return TokenStore(store.engine).create("test-admin", "admin", "*")[0]
    finally:
        store.close()


def backend_store(kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh store for a server: a SQLite file, or a PostgreSQL schema (missing PostgreSQL fails under
    CI=true and skips elsewhere)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('srv') / 'store.db'}"
        return
    problem = _pg_available()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL unavailable: {problem}")
        pytest.skip(f"PostgreSQL unavailable: {problem}")
    url, schema = make_pg_schema_url(PG_ADMIN_URL)
    yield url
    drop_pg_schema(PG_ADMIN_URL, schema)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend_uri(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from backend_store(request.param, tmp_path_factory)


@pytest.fixture(scope="module")
def server(backend_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(backend_uri, tmp_path_factory.mktemp("objects") / "objects").start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def admin(server: ServerProcess) -> Iterator[httpx.Client]:
    token = admin_token(server.store_uri)
    with httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"},
                      timeout=60) as c:
        yield c


def wait_ingested(client: httpx.Client) -> dict[str, object]:
    """Poll the ingestion-lag endpoint until the queue is empty (bounded by count, not by time)."""
    for _ in range(2000):
        lag = client.get("/ingestion").json()
        if lag["pending"] == 0:
            return lag  # type: ignore[no-any-return]
        time.sleep(0.02)
    raise AssertionError(f"queue never drained: {lag}")
