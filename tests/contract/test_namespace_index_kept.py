"""A writer that was already open when a server turned the namespace index on indexes its next batch: it
dispatched no namespace handler while the index was not kept, and must look its handlers up again."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from mlineage import events as ev
from mlineage.events import NewEvent
from mlineage.sdk.client import Client
from mlineage.stores.projections.namespaces import maintain
from mlineage.stores.sql import SqlStore


def _indexed(store: SqlStore) -> set[str]:
    with store.engine.connect() as conn:
        return {row[0] for row in conn.execute(text("SELECT key FROM server_namespace_objects"))}


def _run(client: Client, run_id: str) -> None:
    client.append([NewEvent(ev.RUN_STARTED, {"run_id": run_id, "job": "j"}),
                   NewEvent(ev.RUN_ENDED, {"run_id": run_id, "status": "completed"})])


def test_an_open_writer_indexes_once_a_server_keeps_the_index(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    writer = Client.for_uri(uri, tmp_path / "objects")
    server = SqlStore(uri)
    try:
        _run(writer, "before")
        assert _indexed(server) == set()  # not kept: a local store indexes nothing
        assert maintain(server.engine)  # a server opens the database: built from the ledger
        assert _indexed(server) == {"before"}
        _run(writer, "after")  # the same writer, its handlers looked up while the index was not kept
        assert _indexed(server) == {"before", "after"}
    finally:
        server.close()
        writer.close()
