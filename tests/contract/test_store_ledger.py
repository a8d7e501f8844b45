"""The metadata store contract, run on SQLite and PostgreSQL: appends, projections, rebuild,
tamper-evidence."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import text

from mlineage import events as ev
from mlineage.errors import CycleError, NotFoundError, ValidationError
from mlineage.events import NewEvent
from mlineage.ledger import GENESIS_HASH
from mlineage.stores.sql import SqlStore

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
D3 = "sha256:" + "3" * 64


def art(digest: str, name: str | None = None, kind: str = "dataset") -> NewEvent:
    payload = {"digest": digest, "kind": kind, "size": 10}
    if name:
        payload["name"] = name
    return NewEvent(ev.ARTIFACT_RECORDED, payload)


def start(run_id: str, job: str = "train") -> NewEvent:
    return NewEvent(ev.RUN_STARTED, {"run_id": run_id, "job": job, "kind": "train", "params": {"lr": 0.1}})


def used(run_id: str, digest: str) -> NewEvent:
    return NewEvent(ev.ARTIFACT_USED, {"run_id": run_id, "digest": digest})


def produced(run_id: str, digest: str) -> NewEvent:
    return NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": run_id, "digest": digest})


def pipeline(store: SqlStore) -> None:
    store.append([art(D1, "raw"), start("r1"), used("r1", D1), art(D2, "model", "model"), produced("r1", D2)])
    store.append([NewEvent(ev.METRICS_LOGGED, {"run_id": "r1", "metrics": [{"key": "acc", "value": 0.9}]}),
                  NewEvent(ev.RUN_ENDED, {"run_id": "r1", "status": "completed"})])


def test_empty_store_has_genesis_head(store: SqlStore) -> None:
    assert store.head() == (0, GENESIS_HASH)
    report = store.verify()
    assert report.ok and report.count == 0


def test_append_projects_and_chains(store: SqlStore) -> None:
    pipeline(store)
    seq, head = store.head()
    assert seq == 7
    run = store.get_run("r1")
    assert run is not None and run.status.value == "completed" and run.metrics == {"acc": 0.9}
    model = store.get_version("model")
    assert model is not None and str(model.digest) == D2 and model.version == 1
    inputs, outputs = store.io_of_run("r1")
    assert [str(a.digest) for a, _ in inputs] == [D1]
    assert [str(a.digest) for a, _ in outputs] == [D2]
    events = list(store.iter_events())
    assert [e.seq for e in events] == list(range(1, 8))
    assert events[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert events[-1].hash == head
    assert store.verify().ok


def test_rebuild_reproduces_projections(store: SqlStore) -> None:
    pipeline(store)
    before = store.projection_snapshot()
    assert store.rebuild() == 7
    assert store.projection_snapshot() == before


def test_versions_increment_per_name_and_dedupe(store: SqlStore) -> None:
    store.append([art(D1, "data"), art(D2, "data"), art(D1, "data")])
    assert store.get_version("data", 1).digest.hex == "1" * 64  # type: ignore[union-attr]
    assert store.get_version("data").version == 2  # type: ignore[union-attr]
    assert store.get_version("data", 3) is None


def test_retried_batch_is_idempotent(store: SqlStore) -> None:
    batch = [art(D1), start("r1"), used("r1", D1)]
    first = store.append(batch)
    again = store.append(batch)
    assert len(first) == 3 and again == []
    assert store.head()[0] == 3


def _occurrences(store: SqlStore) -> dict[str, int]:
    """digest -> its number of graph nodes, for digests with more than one."""
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT digest, MAX(ordinal) FROM occurrences GROUP BY digest")).all()
    return {r[0]: int(r[1]) for r in rows}


def test_content_made_again_downstream_of_itself_is_a_new_occurrence(store: SqlStore) -> None:
    """r2 uses the model r1 made from D1 and writes D1's bytes again: D1 -> r1 -> D2 -> r2 -> D1 would be a
    cycle, so r2's output is D1's second occurrence (issue 14: content identity must not close a cycle)."""
    pipeline(store)
    store.append([start("r2"), used("r2", D2), produced("r2", D1)])
    assert _occurrences(store) == {D1: 2}
    store.append([NewEvent(ev.ARTIFACT_DERIVED, {"parent": D2, "child": D1})])  # into the newest: no cycle
    assert _occurrences(store) == {D1: 2}
    assert [r.id for r in store.producers_of(D1)] == ["r2"]
    live = store.projection_snapshot()
    assert store.rebuild() == store.head()[0]
    assert store.projection_snapshot() == live


def test_a_contradictory_use_is_rejected_whole_naming_run_and_artifact(store: SqlStore) -> None:
    """r1 made D2; r2 made D3 from D2; r1 using D3 would make r1 its own ancestor: no occurrence can fix
    that (a run is one node), so the batch is refused, in words, never node numbers."""
    pipeline(store)
    store.append([start("r2"), used("r2", D2), art(D3, "report"), produced("r2", D3)])
    before_head = store.head()
    before = store.projection_snapshot()
    with pytest.raises(CycleError) as refused:
        store.append([used("r1", D3)])
    assert "run r1 (train)" in str(refused.value) and f"{D3} (report@1)" in str(refused.value)
    assert "node " not in str(refused.value)
    assert store.head() == before_head
    assert store.projection_snapshot() == before


def test_a_run_using_its_own_output_adds_no_edge(store: SqlStore) -> None:
    pipeline(store)
    edges = store.counts()["edges"]
    store.append([used("r1", D2)])  # r1 reads back the model it wrote
    assert store.counts()["edges"] == edges and not _occurrences(store)


def test_unknown_run_or_artifact_writes_nothing(store: SqlStore) -> None:
    store.append([art(D1)])
    with pytest.raises(NotFoundError, match="run"):
        store.append([art(D3), used("nope", D1)])
    assert store.get_artifact(D3) is None
    store.append([start("r1")])
    with pytest.raises(NotFoundError, match="artifact"):
        store.append([used("r1", D2)])
    assert store.head()[0] == 2


@pytest.mark.parametrize(
    "event, field",
    [
        (NewEvent(ev.RUN_STARTED, {"run_id": "r", "job": "j", "params": {"x": object()}}), "params.x"),
        (NewEvent(ev.RUN_STARTED, {"run_id": "r", "job": "j", "params": {"x": float("nan")}}), "params.x"),
        (NewEvent(ev.RUN_STARTED, {"run_id": "r", "job": "", "params": {}}), "job"),
        (NewEvent(ev.RUN_STARTED, {"run_id": "r", "job": "j", "kind": "dance"}), "kind"),
        (NewEvent(ev.ARTIFACT_RECORDED, {"digest": "md5:abc"}), "digest"),
        (NewEvent(ev.ARTIFACT_RECORDED, {"digest": "sha256:xyz"}), "digest"),
        (
            NewEvent(ev.METRICS_LOGGED, {"run_id": "r", "metrics": [{"key": "a", "value": "high"}]}),
            "metrics.a",
        ),
        (NewEvent("Bogus", {}), "type"),
    ],
)
def test_invalid_events_are_refused_with_the_field(store: SqlStore, event: NewEvent, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        store.append([start("ok"), event])
    assert field in str(info.value)
    assert store.head()[0] == 0


def test_run_cannot_end_twice(store: SqlStore) -> None:
    from mlineage.errors import LedgerError

    store.append([start("r1"), NewEvent(ev.RUN_ENDED, {"run_id": "r1", "status": "failed",
                                                       "error": {"type": "ValueError", "message": "x"}})])
    with pytest.raises(LedgerError, match="already ended"):
        store.append([NewEvent(ev.RUN_ENDED, {"run_id": "r1", "status": "completed"})])
    run = store.get_run("r1")
    assert run is not None and run.error == {"type": "ValueError", "message": "x"}


def _raw(store: SqlStore, sql: str) -> None:
    with store.engine.connect() as conn, conn.begin():
        conn.execute(text(sql))


def test_triggers_refuse_update_and_delete(store: SqlStore) -> None:
    pipeline(store)
    with pytest.raises(Exception, match="append-only"):
        _raw(store, "UPDATE events SET actor = 'mallory' WHERE seq = 2")
    with pytest.raises(Exception, match="append-only"):
        _raw(store, "DELETE FROM events WHERE seq = 7")
    with pytest.raises(Exception, match="forward"):
        _raw(store, "UPDATE ledger_head SET seq = 1")
    assert store.verify().ok


def _drop_triggers(store: SqlStore) -> None:
    if store.dialect == "sqlite":
        _raw(store, "DROP TRIGGER events_no_update")
        _raw(store, "DROP TRIGGER events_no_delete")
    else:
        _raw(store, "DROP TRIGGER events_no_update_delete ON events")


@pytest.mark.parametrize(
    "tamper, bad_seq, problem",
    [
        ("UPDATE events SET payload = replace(payload, '0.1', '0.5') WHERE seq = 2", 2, "payload"),
        ("UPDATE events SET actor = 'mallory' WHERE seq = 4", 4, "envelope"),
        ("DELETE FROM events WHERE seq = 3", 3, "missing"),
        ("DELETE FROM events WHERE seq = 7", 7, "removed"),
        ("UPDATE events SET ts = '2020-01-01T00:00:00.000000Z' WHERE seq = 6", 6, "envelope"),
    ],
)
def test_verify_names_the_first_tampered_event(
    store: SqlStore, tamper: str, bad_seq: int, problem: str
) -> None:
    pipeline(store)
    _drop_triggers(store)
    _raw(store, tamper)
    report = store.verify()
    assert not report.ok
    assert report.first_bad_seq == bad_seq
    assert problem in (report.problem or "")


def test_two_writers_interleaved_keep_projections_exact(store: SqlStore) -> None:
    """A writer keeps its projection caches between transactions only while nobody else wrote: two store
    objects on one database, writing in turn, must still assign dense node ids and link the right nodes."""
    other = SqlStore(store.uri)
    try:
        store.append([art(D1, "raw"), start("r1"), used("r1", D1)])
        other.append([art(D2, "raw"), start("r2"), used("r2", D1), used("r2", D2)])
        store.append([art(D3, "model", "model"), produced("r1", D3), used("r2", D3)])
        other.append([NewEvent(ev.RUN_ENDED, {"run_id": "r2", "status": "completed"})])
        store.append([NewEvent(ev.RUN_ENDED, {"run_id": "r1", "status": "completed"})])
        other.append([produced("r2", D1)])  # D1 -> r2 exists: D1 made again by r2 is its second occurrence
        assert _occurrences(store) == {D1: 2}
        # into D1's newest occurrence, which the other store created: a writer that kept a stale cache would
        # link D1's first (reaching D3: a third occurrence) or number a second one again
        store.append([NewEvent(ev.ARTIFACT_DERIVED, {"parent": D3, "child": D1})])
        assert _occurrences(store) == {D1: 2}
        assert store.get_run("r2").status.value == "completed"  # type: ignore[union-attr]
        inputs, _ = store.io_of_run("r2")
        assert sorted(str(a.digest) for a, _ in inputs) == [D1, D2, D3]
        live = store.projection_snapshot()
        assert store.rebuild() == 14  # the two refused writes of old are recorded now
        assert store.projection_snapshot() == live
        assert store.verify().ok
    finally:
        other.close()


@pytest.mark.parametrize("seed", [1, 2])
def test_cycle_check_agrees_with_reachability(store: SqlStore, seed: int) -> None:
    """Random DERIVED_FROM edges, one write each, compared with a plain search in Python (the check searches
    from both ends): the edge goes from the parent's newest occurrence that the child's newest does not
    reach, and when the child's newest reaches every one, the child gets a new occurrence."""
    import random

    rng = random.Random(seed)
    digests = [f"sha256:{i:064x}" for i in range(1, 31)]
    store.append([art(d) for d in digests])
    newest = {d: 1 for d in digests}
    children: dict[tuple[str, int], set[tuple[str, int]]] = {}

    def reaches(a: tuple[str, int], b: tuple[str, int]) -> bool:
        stack, seen = [a], {a}
        while stack:
            node = stack.pop()
            if node == b:
                return True
            for nxt in children.get(node, set()) - seen:
                seen.add(nxt)
                stack.append(nxt)
        return False

    occurred = linked = 0
    for _ in range(90):
        parent, child = rng.sample(digests, 2)
        store.append([NewEvent(ev.ARTIFACT_DERIVED, {"parent": parent, "child": child})])
        target = (child, newest[child])
        source = next(((parent, k) for k in range(newest[parent], 0, -1) if not reaches(target, (parent, k))),
                      None)
        if source is not None:
            children.setdefault(source, set()).add(target)
            linked += 1
        else:
            newest[child] += 1
            fresh = (child, newest[child])
            children.setdefault(target, set()).add(fresh)
            children.setdefault((parent, newest[parent]), set()).add(fresh)
            occurred += 1
        assert _occurrences(store) == {d: n for d, n in newest.items() if n > 1}
    assert occurred > 5 and linked > 20  # both branches were exercised


def test_cycle_check_from_the_end_of_a_long_chain(store: SqlStore) -> None:
    chain = [f"sha256:{i:064x}" for i in range(1, 202)]
    store.append([art(d) for d in chain])
    store.append(
        [NewEvent(ev.ARTIFACT_DERIVED, {"parent": a, "child": b}) for a, b in itertools.pairwise(chain)]
    )
    store.append([NewEvent(ev.ARTIFACT_DERIVED, {"parent": chain[-1], "child": chain[0]})])
    assert _occurrences(store) == {chain[0]: 2}  # the round trip: chain[0] again, at the end
    store.append(
        [NewEvent(ev.ARTIFACT_DERIVED, {"parent": chain[0], "child": chain[-1]})]
    )  # a shortcut from chain[0]'s first occurrence: no cycle
    assert _occurrences(store) == {chain[0]: 2}
    store.append([NewEvent(ev.ARTIFACT_DERIVED, {"parent": chain[150], "child": chain[3]})])
    assert _occurrences(store) == {chain[0]: 2, chain[3]: 2}


def test_time_travel_orders_by_the_store_time_not_the_claimed_time(store: SqlStore) -> None:
    """A writer's clock may be wrong: ``ts`` stays as claimed, but ``seq_at`` maps a moment by the time the
    store wrote each event."""
    claimed = "1971-01-01T00:00:00.000000Z"
    store.append([NewEvent(ev.ARTIFACT_RECORDED, {"digest": D1, "kind": "dataset"}, ts=claimed)])
    assert next(iter(store.iter_events())).ts == claimed
    assert store.seq_at("1972-01-01T00:00:00.000000Z") == 0
    assert store.seq_at("2999-01-01T00:00:00.000000Z") == 1


@pytest.mark.parametrize("ts", ["not-a-time", "2026-13-01T00:00:00Z", "2026-05-01T12:00:00", 1700000000, ""])
def test_an_event_time_must_name_one_moment(store: SqlStore, ts: object) -> None:
    with pytest.raises(ValidationError, match="ts"):
        store.append([NewEvent(ev.ARTIFACT_RECORDED, {"digest": D1, "kind": "dataset"}, ts=ts)])  # type: ignore[arg-type]
    assert store.head()[0] == 0


def test_a_known_id_with_other_content_is_refused_naming_it(store: SqlStore) -> None:
    from mlineage.stores.idempotency import EventConflictError

    first = art(D1, "raw")
    store.append([first])
    assert store.append([first]) == []  # the same event again: an idempotent retry
    retried_later = NewEvent(first.type, dict(first.payload), id=first.id, ts="2027-01-01T00:00:00.000000Z")
    assert store.append([retried_later]) == []  # a server stamps ts on receipt: not part of the identity
    other = NewEvent(ev.ARTIFACT_RECORDED, {"digest": D2, "kind": "dataset"}, id=first.id)
    with pytest.raises(
        EventConflictError, match=f"event id {first.id} is already in the ledger with other content"
    ):
        store.append([art(D3), other])
    assert store.head()[0] == 1 and store.get_artifact(D3) is None  # the whole batch was refused


def test_a_retry_whose_clock_filled_times_differ_is_still_a_retry(store: SqlStore) -> None:
    from mlineage.stores.idempotency import EventConflictError

    bare = NewEvent(ev.RUN_STARTED, {"run_id": "r1", "job": "train"})  # started_at filled in by validation
    store.append([bare])
    assert store.append([NewEvent(bare.type, {"run_id": "r1", "job": "train"}, id=bare.id)]) == []
    with pytest.raises(EventConflictError):
        store.append([NewEvent(bare.type, {"run_id": "r1", "job": "other"}, id=bare.id)])
