"""Adding an event type, as a feature would: one spec and one projection, declared in this test module alone
(no core file knows about them), then validated, redacted, namespaced, projected, rebuilt and queried on both
backends. A registered artifact kind goes the same way: accepted by writes, shown and matched by
``--kind``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import BigInteger, Column, MetaData, String, Table, Text, select

from mlineage.catalogue import EventSpec, get_spec, register_artifact_kind, register_event, unregister_event
from mlineage.errors import ValidationError
from mlineage.events import NewEvent
from mlineage.model import ArtifactKind, enum_value
from mlineage.sdk.client import Client
from mlineage.server.auth import ForbiddenError, Principal
from mlineage.server.namespaces import NamespaceIndex, tag_actor
from mlineage.stores.projections import Projection, register_projection, unregister_projection
from mlineage.stores.schema import server_namespace_objects

NOTE_ADDED = "NoteAdded"
_NOTES_METADATA = MetaData()
notes = Table(
    "example_notes", _NOTES_METADATA,
    Column("note_id", String(64), primary_key=True),
    Column("run_id", String(128), nullable=False),
    Column("text", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
)


def _validate_note(p: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key in ("note_id", "run_id", "text"):
        value = p.get(key)
        if not isinstance(value, str) or not value:
            raise ValidationError(key, "must be a non-empty string")
        out[key] = value
    return out


class NotesProjection(Projection):
    name = "example_notes"
    tables = ("example_notes",)

    @classmethod
    def schema(cls) -> Sequence[Table]:
        return [notes]

    def handlers(self) -> dict[str, Any]:
        return {NOTE_ADDED: self._note_added}

    def _note_added(self, e: Any, p: dict[str, Any]) -> None:
        self.writer.projection("runs").state(p["run_id"])  # a note needs its run
        self.writer.execute("INSERT INTO example_notes (note_id, run_id, text, seq) VALUES (:n, :r, :t, :s)",
                            {"n": p["note_id"], "r": p["run_id"], "t": p["text"], "s": e.seq})


NOTE_SPEC = EventSpec(
    NOTE_ADDED,
    _validate_note,
    redact=("text",),
    creates=lambda p: (f"note:{p['note_id']}",),
    references=lambda p: (("run", p["run_id"]),),
    projections=("example_notes",),
)


def notes_of(client: Client, run_id: str) -> list[tuple[str, str]]:
    """The query a feature would offer over its table."""
    engine = client.store.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(select(notes.c.note_id, notes.c.text).where(notes.c.run_id == run_id)
                            .order_by(notes.c.seq)).all()
    return [(r[0], r[1]) for r in rows]


@pytest.fixture
def feature() -> Iterator[None]:
    register_event(NOTE_SPEC)
    register_projection(NotesProjection)
    register_artifact_kind("corpus")
    yield
    unregister_projection(NotesProjection.name)
    unregister_event(NOTE_ADDED)


@pytest.fixture
def noted(feature: None, store_uri: str, tmp_path: Path) -> Iterator[Client]:
    client = Client.for_uri(store_uri, tmp_path / "objects")  # opened after registering: the table exists
    yield client
    client.close()


def _start(client: Client, run_id: str, actor: str | None = None) -> None:
    client.append([NewEvent("RunStarted", {"run_id": run_id, "job": "j"}, actor=actor)])


def test_a_registered_event_is_validated_redacted_and_projected(noted: Client) -> None:
    _start(noted, "r1")
    with pytest.raises(ValidationError, match="NoteAdded.text"):
        noted.append([NewEvent(NOTE_ADDED, {"note_id": "n1", "run_id": "r1"})])
    secret = "ghp_" + "a" * 36
    noted.append([NewEvent(NOTE_ADDED, {"note_id": "n1", "run_id": "r1", "text": f"pushed with {secret}"})])
    assert notes_of(noted, "r1") == [("n1", "pushed with [REDACTED]")]
    stored = [e for e in noted.store.iter_events() if e.type == NOTE_ADDED]
    assert stored[0].payload == {"note_id": "n1", "run_id": "r1", "text": "pushed with [REDACTED]"}
    assert noted.verify().ok
    with pytest.raises(Exception, match="not recorded"):  # the projection's own check rolls the batch back
        noted.append([NewEvent(NOTE_ADDED, {"note_id": "n2", "run_id": "nope", "text": "x"})])
    assert notes_of(noted, "nope") == []


def test_a_registered_event_is_rebuilt_like_the_core_ones(noted: Client) -> None:
    _start(noted, "r1")
    noted.append(
        [NewEvent(NOTE_ADDED, {"note_id": f"n{i}", "run_id": "r1", "text": f"t{i}"}) for i in range(3)]
    )
    store = noted.store
    live = store.projection_snapshot()  # type: ignore[attr-defined]
    assert len(live["example_notes"]) == 3
    store.rebuild()
    assert store.projection_snapshot() == live  # type: ignore[attr-defined]
    assert notes_of(noted, "r1") == [("n0", "t0"), ("n1", "t1"), ("n2", "t2")]


def test_a_registered_event_is_namespaced(noted: Client) -> None:
    team_a = Principal("a", "a-token", frozenset({"write"}), "team-a")
    team_b = Principal("b", "b-token", frozenset({"write"}), "team-b")
    _start(noted, "r1", actor=tag_actor("alice", team_a))
    note = NewEvent(
        NOTE_ADDED, {"note_id": "n1", "run_id": "r1", "text": "t"}, actor=tag_actor("alice", team_a)
    )
    index = NamespaceIndex(noted.store.engine)  # type: ignore[attr-defined]
    index.check_writes([note], team_a)  # its own run: fine
    with pytest.raises(ForbiddenError, match="run r1 is outside namespace 'team-b'"):
        index.check_writes([note], team_b)  # the spec's references are checked
    noted.append([note])
    with noted.store.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = set(conn.execute(select(server_namespace_objects.c.namespace, server_namespace_objects.c.key)))
    assert ("team-a", "note:n1") in rows and ("team-a", "r1") in rows  # the spec's created keys are indexed
    assert index.visible_keys("team-b", ["note:n1"]) == set()


def test_an_unregistered_event_type_is_refused(store_uri: str, tmp_path: Path) -> None:
    client = Client.for_uri(store_uri, tmp_path / "objects")
    try:
        with pytest.raises(ValidationError, match="unknown event type 'NoteAdded'"):
            client.append([NewEvent(NOTE_ADDED, {"note_id": "n1", "run_id": "r1", "text": "t"})])
    finally:
        client.close()
    with pytest.raises(ValidationError):
        get_spec(NOTE_ADDED)


def test_a_registered_artifact_kind_is_recorded_shown_and_queryable(noted: Client, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("some text\n")
    with pytest.raises(ValidationError, match="'lexicon' is not one of"):
        enum_value(ArtifactKind, "lexicon", "kind")
    recorded = noted.record_artifact(corpus, kind="corpus")
    assert recorded.kind == ArtifactKind("corpus") and recorded.kind.value == "corpus"
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights")
    produced = noted.artifact_event(model, kind="model")
    noted.append([NewEvent("RunStarted", {"run_id": "train", "job": "train", "kind": "train"}),
                  NewEvent("ArtifactUsed", {"run_id": "train", "digest": str(recorded.digest)}), produced,
                  NewEvent("ArtifactProduced", {"run_id": "train", "digest": produced.payload["digest"]})])
    found = noted.trace(produced.payload["digest"], kinds=["corpus"])
    kinds = sorted(n.kind.value for n in found.nodes.values() if hasattr(n, "digest"))
    assert "corpus" in kinds and "dataset" not in kinds


def test_a_writer_opened_before_the_feature_loads_picks_it_up(tmp_path: Path) -> None:
    """The lean SQLite writer keeps its projector between appends; registering a spec and a projection
    afterwards must not leave it dispatching with the old tables."""
    client = Client.for_uri(f"sqlite:///{tmp_path / 's.db'}", tmp_path / "objects")
    try:
        _start(client, "r1")  # the writer now holds a projector made before the feature was registered
        register_event(NOTE_SPEC)
        register_projection(NotesProjection)
        with client.store.engine.begin() as conn:  # type: ignore[attr-defined]
            notes.create(conn, checkfirst=True)  # what opening a store does for a feature's tables
        client.append([NewEvent(NOTE_ADDED, {"note_id": "n1", "run_id": "r1", "text": "t"})])
        assert notes_of(client, "r1") == [("n1", "t")]
    finally:
        unregister_projection(NotesProjection.name)
        unregister_event(NOTE_ADDED)
        client.close()
