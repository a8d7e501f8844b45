"""The namespace index is a projection of the ledger (actor tags): written with the events, rebuilt with
them."""

from __future__ import annotations

import hashlib
from pathlib import Path

from mlineage.events import NewEvent
from mlineage.server.auth import Principal
from mlineage.server.namespaces import NamespacedStore, NamespaceIndex, namespace_of, tag_actor
from mlineage.stores.sql import SqlStore


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def test_index_is_written_with_the_events_and_survives_rebuild(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 's.db'}")
    try:
        team = Principal("t1", "ci", frozenset({"write"}), "team-a")
        assert namespace_of(tag_actor("alice@host", team)) == "team-a"
        store.append([NewEvent("ArtifactRecorded", {"digest": digest("a"), "kind": "file"},
                               actor=tag_actor("alice", team)),
                      NewEvent("ArtifactRecorded", {"digest": digest("plain"), "kind": "file"}, actor="bob")])
        index = NamespaceIndex(
            store.engine
        )  # written straight into the database, indexed in the same transaction
        assert index.visible_keys("team-a", [digest("a"), digest("plain")]) == {digest("a")}
        assert index.visible_keys("default", [digest("plain")]) == {digest("plain")}
        store.rebuild()  # the index is a projection: replayed from the actor tags like the others
        assert index.visible_keys("team-a", [digest("a"), digest("plain")]) == {digest("a")}
        view = NamespacedStore(store, index, "team-a")
        assert view.get_artifact(digest("a")) is not None and view.get_artifact(digest("plain")) is None
        assert [str(a.digest) for a in view.find_artifacts("sha256:")] == [digest("a")]
    finally:
        store.close()


def _index_rows(store: SqlStore) -> set[tuple[str, str]]:
    from sqlalchemy import text

    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT namespace, key FROM server_namespace_objects"))
        return {(r[0], r[1]) for r in rows}


def test_a_local_store_is_indexed_when_a_server_first_reads_it(store_uri: str) -> None:
    """A store no server reads keeps no index; the first reader builds it from the ledger, and from then on
    every writer keeps it, including one that was already open (its cached projector asks again)."""
    from mlineage import audit

    team = Principal("t1", "ci", frozenset({"write"}), "team-a")
    store = SqlStore(store_uri)
    other = SqlStore(store_uri)  # a second writer, open before the server, as a local script would be
    try:
        store.append([NewEvent("ArtifactRecorded", {"digest": digest("a"), "kind": "file"},
                               actor=tag_actor("alice", team))])
        other.append([NewEvent("ArtifactRecorded", {"digest": digest("b"), "kind": "file"}, actor="bob")])
        assert _index_rows(store) == set()  # not kept: a local store has one namespace
        assert audit.compare_projections(store).ok
        index = NamespaceIndex(store.engine)  # what the server does when it opens the database
        assert _index_rows(store) == {("team-a", digest("a")), ("default", digest("b"))}
        other.append([NewEvent("ArtifactRecorded", {"digest": digest("c"), "kind": "file"}, actor="bob")])
        assert index.visible_keys("default", [digest("c")]) == {digest("c")}
        assert audit.compare_projections(store).ok
        live = _index_rows(store)
        store.rebuild()
        assert _index_rows(store) == live
        NamespaceIndex(store.engine)  # opening it again builds nothing
        assert _index_rows(store) == live
    finally:
        other.close()
        store.close()
