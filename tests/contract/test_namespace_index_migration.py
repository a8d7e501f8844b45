"""Upgrading a store from revision 0005 fills in the namespace index (now a projection) from the ledger:
keys written while no server ran get their namespace, rows the server had already indexed stay, and the
server's cursor goes."""

from __future__ import annotations

import json

from sqlalchemy import text

from mlineage.stores import migrate
from mlineage.stores.sql import SqlStore

from .old_revision import at_revision

A = "sha256:" + "a" * 64
_EVENTS = [  # seq, type, actor, payload
    (1, "ArtifactRecorded", "alice via ci [ns:team-a]", {"digest": A, "kind": "file"}),
    (2, "RunStarted", "bob@host", {"run_id": "r1", "job": "j"}),
    (3, "ArtifactRecorded", "carol via ci [ns:team-b]", {"digest": A, "kind": "file"}),
    (4, "ArtifactUsed", "bob@host", {"run_id": "r1", "digest": A}),
    (5, "RunStarted", "dave via ci [ns:team-b]", None),  # an erased payload indexes nothing
]


def test_upgrade_from_0005_fills_in_the_namespace_index(store_uri: str) -> None:
    with at_revision(store_uri, "0005") as conn:
        conn.execute(
            text(
                "INSERT INTO events (seq, id, type, v, ts, actor, payload, payload_sha256, prev_hash, hash) "
                "VALUES (:s, :id, :t, 1, '2026-12-07T00:00:00Z', :a, :p, :psha, :prev, :h)"
            ),
            [
                {
                    "s": s,
                    "id": f"e{s}",
                    "t": t,
                    "a": a,
                    "p": json.dumps(p) if p else None,
                    "psha": "0" * 64,
                    "prev": f"{s - 1:064d}",
                    "h": f"{s:064d}",
                }
                for s, t, a, p in _EVENTS
            ],
        )
        conn.execute(
            text("INSERT INTO server_namespace_objects (namespace, key, seq) VALUES ('team-a', :k, 1)"),
            {"k": A},
        )  # what a server had indexed before the others were written

    store = SqlStore(store_uri)  # migrates to head
    try:
        assert migrate.current_revision(store.engine) == migrate.HEAD_REVISION
        with store.engine.connect() as conn:
            rows = set(conn.execute(text("SELECT namespace, key, seq FROM server_namespace_objects")))
            cursor = conn.execute(text("SELECT COUNT(*) FROM server_state WHERE key = 'namespace_index_seq'"))
            assert cursor.scalar() == 0
        assert rows == {("team-a", A, 1), ("default", "r1", 2), ("team-b", A, 3)}
    finally:
        store.close()
