"""Shared fixtures: every store test runs against a real SQLite file and the real local PostgreSQL.

PostgreSQL isolation is one fresh schema per test (search_path in the URL), so tests run in parallel.
Where CI=true a missing PostgreSQL fails the run; elsewhere those tests skip with a one-line reason.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ADMIN_URL = os.environ.get("MLINEAGE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_available() -> str | None:
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=3):
            return None
    except psycopg.OperationalError as exc:
        return str(exc).strip().splitlines()[0]


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    problem = _pg_available()
    if problem is not None:
        message = f"PostgreSQL at {PG_ADMIN_URL} is unavailable: {problem}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(message)
    return PG_ADMIN_URL


def make_pg_schema_url(admin_url: str) -> tuple[str, str]:
    """Create an empty schema; return (store URI whose search_path is that schema, schema name)."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in admin_url else "?"
    return f"{admin_url}{separator}options=-csearch_path%3D{schema}", schema


def drop_pg_schema(admin_url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def pg_url(pg_admin_url: str) -> Iterator[str]:
    url, schema = make_pg_schema_url(pg_admin_url)
    yield url
    drop_pg_schema(pg_admin_url, schema)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty metadata store URI on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
def store(store_uri: str) -> Iterator[SqlStore]:  # noqa: F821
    from mlineage.stores.sql import SqlStore

    s = SqlStore(store_uri)
    yield s
    s.close()


@pytest.fixture
def client(store_uri: str, tmp_path: Path) -> Iterator[Client]:  # noqa: F821
    from mlineage.sdk.client import Client

    c = Client.for_uri(store_uri, tmp_path / "objects")
    yield c
    c.close()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An initialised project folder used as the current directory, with no store env overrides."""
    from mlineage.config import init_project

    monkeypatch.delenv("MLINEAGE_URI", raising=False)
    monkeypatch.delenv("MLINEAGE_ARTIFACTS", raising=False)
    root = tmp_path / "proj"
    root.mkdir()
    init_project(root)
    monkeypatch.chdir(root)
    return root


@pytest.fixture(autouse=True)
def _cache_in_the_test_folder(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The package-manifest cache (``capture/package_cache.py``) goes under the tests' temporary folder, never
    the user's ``~/.cache``."""
    monkeypatch.setenv("MLINEAGE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "mlineage-cache"))


@pytest.fixture(autouse=True)
def _basic_capture_unless_marked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Full capture links every run to a code and an environment artifact (two more lineage nodes per run).
    Tests that count nodes should see only what they declared, so full capture is on only in tests marked
    ``full_capture`` (tests/capture/, tests/integrations/); everywhere else runs record the basic context."""
    if request.node.get_closest_marker("full_capture") is None:
        monkeypatch.setenv("MLINEAGE_CAPTURE", "basic")
    else:
        monkeypatch.delenv("MLINEAGE_CAPTURE", raising=False)


# ---------------------------------------------------------------- S3: moto's standalone server on loopback


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real S3-protocol server (moto's standalone server) on a loopback port, for the whole session."""
    for module in ("boto3", "moto"):
        try:
            __import__(module)
        except ImportError:
            if os.environ.get("CI") == "true":
                pytest.fail(f"{module} is missing (CI=true: the S3 tests must run; it is in the dev extra)")
            pytest.skip(f"{module} is not installed")
    port = free_loopback_port()
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
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
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
    return bucket
