"""Upgrading a store from revision 0008 grants each recorded artifact's blob to the namespace that recorded it
first, and nothing else (a later recorder, and run keys, get no grant)."""

from __future__ import annotations

from sqlalchemy import text

from mlineage.stores import migrate
from mlineage.stores.sql import SqlStore

from .old_revision import at_revision

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64


def test_upgrade_from_0008_grants_blobs_to_their_first_recorder(store_uri: str) -> None:
    with at_revision(store_uri, "0008") as conn:
        conn.execute(
            text("INSERT INTO server_namespace_objects (namespace, key, seq) VALUES (:ns, :key, :seq)"),
            [{"ns": "team-a", "key": A, "seq": 1}, {"ns": "default", "key": "r1", "seq": 2},
             {"ns": "team-b", "key": A, "seq": 3}, {"ns": "team-b", "key": B, "seq": 4}],
        )

    store = SqlStore(store_uri)  # migrates to head
    try:
        assert migrate.current_revision(store.engine) == migrate.HEAD_REVISION
        with store.engine.connect() as conn:
            rows = conn.execute(text("SELECT namespace, digest FROM server_blob_grants"))
            grants = {tuple(r) for r in rows}
        assert grants == {("team-a", A), ("team-b", B)}
    finally:
        store.close()
