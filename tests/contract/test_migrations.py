"""The Alembic migrations and ``stores/schema.py`` describe the same tables (queries use the latter, fresh
databases get the former, and ``rebuild`` recreates projections from the latter)."""

from __future__ import annotations

from sqlalchemy import inspect

from mlineage.stores import migrate
from mlineage.stores.schema import PROJECTION_TABLES, metadata
from mlineage.stores.sql import SqlStore


def _shape(store: SqlStore) -> dict[str, tuple[set[tuple[str, bool]], set[tuple[str, ...]]]]:
    inspector = inspect(store.engine)
    shape = {}
    for table in metadata.sorted_tables:
        columns = {(c["name"], bool(c["nullable"])) for c in inspector.get_columns(table.name)}
        indexes = {tuple(i["column_names"]) for i in inspector.get_indexes(table.name)}
        shape[table.name] = (columns, indexes)
    return shape


def test_migrated_schema_matches_schema_module(store: SqlStore) -> None:
    assert migrate.current_revision(store.engine) == migrate.HEAD_REVISION
    migrated = _shape(store)
    for table in metadata.sorted_tables:
        declared = {(c.name, bool(c.nullable)) for c in table.columns}
        assert migrated[table.name][0] == declared, f"columns of {table.name} differ from schema.py"


def test_rebuild_recreates_the_same_projection_tables(store: SqlStore) -> None:
    before = _shape(store)
    store.rebuild()  # drops and recreates the projection tables from schema.py
    after = _shape(store)
    for table in PROJECTION_TABLES:
        assert after[table.name] == before[table.name], f"{table.name} changed shape across rebuild"
