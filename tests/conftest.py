"""Shared fixtures: every store test runs against a real SQLite file and the real local PostgreSQL.

PostgreSQL isolation is one fresh schema per test (search_path in the URL), so tests run in parallel.
Where CI=true a missing PostgreSQL fails the run; elsewhere those tests skip with a one-line reason.
"""

from __future__ import annotations

import os
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
def store(store_uri: str) -> Iterator["SqlStore"]:  # noqa: F821
    from mlineage.stores.sql import SqlStore

    s = SqlStore(store_uri)
    yield s
    s.close()


@pytest.fixture
def client(store_uri: str, tmp_path: Path) -> Iterator["Client"]:  # noqa: F821
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
def _basic_capture_unless_marked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Full capture links every run to a code and an environment artifact (two more lineage nodes per run).
    Tests that count nodes should see only what they declared, so full capture is on only in tests marked
    ``full_capture`` (tests/capture/, tests/integrations/); everywhere else runs record the basic context."""
    if request.node.get_closest_marker("full_capture") is None:
        monkeypatch.setenv("MLINEAGE_CAPTURE", "basic")
    else:
        monkeypatch.delenv("MLINEAGE_CAPTURE", raising=False)
