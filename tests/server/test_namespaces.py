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
