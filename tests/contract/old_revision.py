"""A database as an older release left it: migrated only up to a revision, for upgrade tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from mlineage.stores import migrate
from mlineage.stores.engine import make_engine


@contextmanager
def at_revision(store_uri: str, revision: str) -> Iterator[Connection]:
    """The store migrated up to ``revision``, open in one transaction in which the test writes the rows that
    revision's code would have written; committed and closed before the test opens the store at head."""
    engine = make_engine(store_uri)
    config = Config()
    config.set_main_option("script_location", str(migrate._MIGRATIONS))
    try:
        with engine.connect() as conn, conn.begin():
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
            yield conn
    finally:
        engine.dispose()
