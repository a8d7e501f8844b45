"""Audits on SQLite and PostgreSQL: rebuild refuses a broken ledger; verify --projections finds edited
tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from mlineage import audit
from mlineage.errors import IntegrityError
from mlineage.sdk.client import Client
from mlineage.stores.sql import SqlStore

from .test_store_ledger import pipeline


def raw(store: SqlStore, *statements: str) -> None:
    with store.engine.connect() as conn, conn.begin():
        for statement in statements:
            conn.execute(text(statement))


def drop_update_triggers(store: SqlStore) -> None:
    if store.dialect == "sqlite":
        raw(store, "DROP TRIGGER events_no_update")
    else:
        raw(store, "DROP TRIGGER events_no_update_delete ON events")


def test_rebuild_refuses_a_tampered_ledger(store: SqlStore) -> None:
    pipeline(store)  # seq 2 starts run r1 with params {"lr": 0.1}; seq 7 ends it
    drop_update_triggers(store)
    raw(store, "UPDATE events SET payload = replace(payload, 'completed', 'failed') WHERE seq = 7")
    before = store.projection_snapshot()
    with pytest.raises(
        IntegrityError, match=r"rebuild refused: the ledger does not verify at event 7 .*payload"
    ):
        audit.rebuild(store)
    assert store.projection_snapshot() == before  # nothing replayed
    assert store.get_run("r1").status.value == "completed"  # type: ignore[union-attr]
    outcome = audit.rebuild(store, allow_broken=True)
    assert (outcome.replayed, outcome.stopped_at) == (6, 7) and "payload" in (outcome.problem or "")
    assert store.get_run("r1").status.value == "running"  # type: ignore[union-attr]  # the forged end is not copied


def test_client_and_cli_rebuild_refuse(client: Client, project: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    pipeline(client.store)  # type: ignore[arg-type]
    drop_update_triggers(client.store)  # type: ignore[arg-type]
    raw(client.store, "UPDATE events SET actor = 'mallory' WHERE seq = 3")  # type: ignore[arg-type]
    with pytest.raises(IntegrityError, match="event 3"):
        client.rebuild()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLINEAGE_")}
    env["MLINEAGE_URI"] = client.store.uri
    command = [sys.executable, "-m", "mlineage.cli.main", "rebuild"]
    refused = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)
    assert (
        refused.returncode == 1
        and "--allow-broken" in refused.stderr
        and len(refused.stderr.splitlines()) == 1
    )
    partial = subprocess.run(
        [*command, "--allow-broken", "--json"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert partial.returncode == 0, partial.stderr
    assert json.loads(partial.stdout)["stopped_at"] == 3 and json.loads(partial.stdout)["replayed"] == 2


@pytest.mark.parametrize(
    "edit, table, detail",
    [
        (
            "UPDATE runs SET status = 'failed', metrics = '{\"acc\": 0.1}' WHERE id = 'r1'",
            "runs",
            "status is 'failed' in the table but 'completed' in the replay",
        ),
        ("DELETE FROM edges WHERE type = 'USED'", "edges", "is missing from the table"),
        (
            "INSERT INTO versions (name, version, digest, created_seq) VALUES ('raw', 2, 'sha256:"
            + "9" * 64
            + "', 3)",
            "versions",
            "is in the table but not in a replay",
        ),
        (
            "UPDATE metric_batches SET timestamps = '[\"1970-01-01T00:00:00Z\"]'",
            "metric_batches",
            "timestamps is",
        ),
    ],
)
def test_verify_projections_names_the_first_edited_row(
    store: SqlStore, edit: str, table: str, detail: str
) -> None:
    pipeline(store)
    clean = audit.compare_projections(store)
    assert clean.ok and clean.events == 7 and clean.rows > 0
    raw(store, edit)
    report = audit.compare_projections(store)
    assert not report.ok and report.table == table and detail in (report.problem or "")
    assert store.verify().ok  # the chain alone cannot see it
    audit.rebuild(store)
    assert audit.compare_projections(store).ok
    assert store.projection_snapshot() == _after_rebuild(store)


def _after_rebuild(store: SqlStore) -> dict[str, list[tuple[object, ...]]]:
    store.rebuild()
    return store.projection_snapshot()


def test_cli_verify_projections(client: Client, project: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    pipeline(client.store)  # type: ignore[arg-type]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLINEAGE_")}
    env["MLINEAGE_URI"] = client.store.uri
    command = [sys.executable, "-m", "mlineage.cli.main", "verify", "--projections"]
    ok = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "rows match a replay of 7 events" in ok.stdout
    raw(client.store, "UPDATE runs SET status = 'failed'")  # type: ignore[arg-type]
    bad = subprocess.run(
        [*command, "--json"], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    assert report["ok"] is False and report["projections"]["row"] == {"id": "r1"}


# ---------------------------------------------------------------- erased payloads


def _erase_payload(store: SqlStore, seq: int) -> None:
    drop_update_triggers(store)
    raw(store, f"UPDATE events SET payload = NULL WHERE seq = {seq}")


def _authorise_erasure(store: SqlStore, seq: int) -> None:
    from mlineage.erasure import PAYLOAD_ERASED, erasure_event_payload
    from mlineage.events import NewEvent

    event = next(e for e in store.iter_events(seq - 1, batch=1))
    store.append(
        [
            NewEvent(
                PAYLOAD_ERASED,
                erasure_event_payload(
                    event.seq,
                    event.id,
                    event.payload_sha256,
                    "the error message held a customer's e-mail",
                    "dpo@example.com",
                    "INC-42",
                ),
            )
        ]
    )


def test_a_payload_removed_without_an_erasure_event_fails(store: SqlStore) -> None:
    pipeline(store)
    _erase_payload(store, 7)  # the RunEnded: after a rebuild the run would show as running
    report = store.verify()
    assert not report.ok and report.first_bad_seq == 7
    assert "no PayloadErased event names it" in (report.problem or "")
    with pytest.raises(IntegrityError, match="event 7"):
        audit.rebuild(store)


def test_an_authorised_erasure_verifies(store: SqlStore) -> None:
    pipeline(store)
    _authorise_erasure(store, 4)
    _erase_payload(store, 4)
    report = store.verify()
    assert report.ok and report.redacted == 1 and report.count == 8
    raw(
        store, "UPDATE events SET payload = NULL WHERE seq = 5"
    )  # an erasure names one event, not its neighbours
    assert store.verify().first_bad_seq == 5


def test_an_erasure_must_name_an_earlier_event_exactly(store: SqlStore) -> None:
    from mlineage.erasure import PAYLOAD_ERASED, erasure_event_payload
    from mlineage.errors import ValidationError
    from mlineage.events import NewEvent

    pipeline(store)
    event = next(e for e in store.iter_events(2, batch=1))
    for seq, digest in ((event.seq + 1, event.payload_sha256), (event.seq, "0" * 64)):
        with pytest.raises(ValidationError, match="not an earlier event"):
            store.append([NewEvent(PAYLOAD_ERASED, erasure_event_payload(seq, event.id, digest, "r", "dpo"))])
    with pytest.raises(ValidationError, match="reason"):
        store.append(
            [
                NewEvent(
                    PAYLOAD_ERASED,
                    {
                        "event_id": event.id,
                        "seq": event.seq,
                        "payload_sha256": event.payload_sha256,
                        "authorised_by": "x",
                    },
                )
            ]
        )
    assert store.head()[0] == 7


def test_exports_with_a_null_or_missing_payload_fail(client: Client, tmp_path: Path) -> None:
    import io
    import json

    from mlineage.exports import verify_export, write_export

    store = client.store
    pipeline(store)  # type: ignore[arg-type]
    buffer = io.StringIO()
    write_export(store.iter_events(), buffer)
    lines = buffer.getvalue().splitlines()
    path = tmp_path / "ledger.jsonl"
    for how in ("null", "deleted"):
        rows = [json.loads(line) for line in lines]
        if how == "null":
            rows[6]["payload"] = None
        else:
            del rows[6]["payload"]
        path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
        report = verify_export(path)
        assert not report.ok and report.first_bad_seq == 7 and "PayloadErased" in (report.problem or ""), how
    _authorise_erasure(store, 7)  # type: ignore[arg-type]
    buffer = io.StringIO()
    write_export(store.iter_events(), buffer)
    rows = [json.loads(line) for line in buffer.getvalue().splitlines()]
    rows[6]["payload"] = None
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert verify_export(path).ok
