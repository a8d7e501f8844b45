"""Each way a ledger can be broken gets a message saying what was found, where, and what it means (SQLite and
PostgreSQL; exports)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from mlineage import events as ev
from mlineage.events import NewEvent
from mlineage.ledger import seal
from mlineage.stores.sql import SqlStore
from tests.cli_process import run_cli

from .test_audit import drop_update_triggers, raw
from .test_store_ledger import pipeline


def _insert(store: SqlStore, sealed_event: object) -> None:
    e = sealed_event.event  # type: ignore[attr-defined]
    with store.engine.connect() as conn, conn.begin():
        conn.execute(
            text(
                "INSERT INTO events (seq, id, type, v, ts, actor, payload, payload_sha256, prev_hash, hash) "
                "VALUES (:seq, :id, :type, :v, :ts, :actor, :payload, :psha, :prev, :hash)"
            ),
            {
                "seq": e.seq,
                "id": e.id,
                "type": e.type,
                "v": e.v,
                "ts": e.ts,
                "actor": e.actor,
                "payload": sealed_event.payload_json,
                "psha": e.payload_sha256,  # type: ignore[attr-defined]
                "prev": e.prev_hash,
                "hash": e.hash,
            },
        )


def _forged(after_seq: int, after_hash: str) -> object:
    event = NewEvent(ev.ARTIFACT_RECORDED, {"digest": "sha256:" + "e" * 64, "kind": "model", "size": 1})
    return seal([ev.validate(event)], after_seq, after_hash)[0]


def test_an_event_appended_behind_the_head_is_named_as_added(store: SqlStore) -> None:
    pipeline(store)
    seq, head = store.head()
    forged = _forged(seq, head)
    _insert(store, forged)
    report = store.verify()
    assert not report.ok and report.first_bad_seq == seq + 1 and report.first_bad_id == forged.event.id  # type: ignore[attr-defined]
    assert "goes on past the ledger head (seq 7) to seq 8" in (report.problem or "")
    assert "removed" not in (report.problem or "")


def test_a_rewritten_head_hash_is_not_called_a_length_mismatch(store: SqlStore) -> None:
    pipeline(store)
    raw(store, "UPDATE ledger_head SET hash = '" + "0" * 64 + "'")
    problem = store.verify().problem or ""
    assert "the ledger head records hash 000" in problem and "event 7's hash is" in problem
    assert "ends at seq" not in problem


def test_an_inserted_event_is_reported_at_its_own_seq(store: SqlStore) -> None:
    pipeline(store)
    third = next(iter(store.iter_events(2, batch=1)))
    forged = _forged(3, third.hash)  # chained after event 3, placed at seq 4; the old 4..7 move to 5..8
    drop_update_triggers(store)
    raw(
        store,
        "UPDATE events SET seq = seq + 100 WHERE seq > 3",
        "UPDATE events SET seq = seq - 99 WHERE seq > 100",
    )
    _insert(store, forged)
    raw(store, "UPDATE ledger_head SET seq = 8")
    report = store.verify()
    assert not report.ok and report.first_bad_seq == 4 and report.first_bad_id == forged.event.id  # type: ignore[attr-defined]
    assert "event 4 was inserted: event 5 links to event 3" in (report.problem or "")


def test_export_edits_get_one_line_messages(project: Path) -> None:
    import mlineage

    with mlineage.run("train") as run:
        run.log_metric("acc", 0.5)
    export = project / "ledger.jsonl"
    assert run_cli("export", "-o", str(export), cwd=project).returncode == 0
    rows = [json.loads(line) for line in export.read_text().splitlines()]
    cases = {
        "string seq": (lambda r: r[1].update(seq=str(r[1]["seq"])), 'seq is "2", not an integer'),
        "NaN": (lambda r: r[1]["payload"].update(nan=float("nan")), "NaN is not a JSON number"),
    }
    for name, (edit, expected) in cases.items():
        copy = json.loads(json.dumps(rows))
        edit(copy)
        export.write_text("\n".join(json.dumps(r) for r in copy) + "\n")
        result = run_cli("verify", "--file", str(export), cwd=project)
        assert result.returncode == 1, name
        assert expected in result.stderr and f"{export}:2" in result.stderr, (name, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr, name
