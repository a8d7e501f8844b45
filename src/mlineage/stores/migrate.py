"""Bring a database to the newest schema, once, even with several processes starting at the same moment.

Opening a store is on every CLI command's path, so the common case (already current) is one cheap SELECT and
Alembic is imported only when a migration must actually run.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from .revision import HEAD_REVISION

__all__ = ["HEAD_REVISION", "current_revision", "upgrade"]
_MIGRATIONS = Path(__file__).with_name("migrations")


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError):
        return None


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Serialise migrations across processes: a file lock for SQLite, an advisory lock for PostgreSQL."""
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:":
            yield
            return
        with open(f"{database}.migrate-lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(727271)"))
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(727271)"))
            conn.commit()


def upgrade(engine: Engine) -> None:
    if current_revision(engine) == HEAD_REVISION:
        return
    with _migration_lock(engine):
        if current_revision(engine) == HEAD_REVISION:
            return
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with engine.connect().execution_options(mlineage_write=True) as conn, conn.begin():
            config.attributes["connection"] = conn
            command.upgrade(config, "head")


def create_missing_tables(engine: Engine, tables: Sequence[Any]) -> None:
    """Create those of ``tables`` the database lacks (a feature's projection tables, which no migration
    makes). Looked up first without a write; then created under the migration lock in a write transaction
    (SQLite's ``BEGIN IMMEDIATE``), so that processes opening a fresh store together neither fail on a lock
    upgrade nor create a table twice."""
    from sqlalchemy import inspect

    missing = [t for t in tables if t.name not in set(inspect(engine).get_table_names())]
    if not missing:
        return
    writer = engine.connect().execution_options(mlineage_write=True)
    with _migration_lock(engine), writer as conn, conn.begin():
        for table in missing:
            table.create(conn, checkfirst=True)

