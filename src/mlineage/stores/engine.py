"""Engines for the two metadata backends, tuned once here.

SQLite: WAL (readers never block the writer), a long busy timeout, and explicit ``BEGIN IMMEDIATE`` for
writes so that two processes never both read the same ledger head. PostgreSQL: psycopg 3, and the writer
locks the single ledger_head row. Callers mark write connections with
``execution_options(mlineage_write=True)``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from ..errors import ConfigError

SQLITE_BUSY_TIMEOUT_MS = 60_000


def normalise_url(uri: str) -> str:
    if uri.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + uri.split("://", 1)[1]
    if uri.startswith(("sqlite://", "postgresql+psycopg://")):
        return uri
    raise ConfigError(
        f"unsupported metadata store URI {uri!r}: use sqlite:///path/to/db or postgresql://user@host/db"
    )


def make_engine(uri: str) -> Engine:
    url = make_url(normalise_url(uri))
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _sqlite_engine(url: Any) -> Engine:
    in_memory = url.database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {
        "connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    }
    if in_memory:
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so that BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("mlineage_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine
