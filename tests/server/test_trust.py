"""The server's audit surface, on SQLite and PostgreSQL: the signed checkpoint log (signatures check against the
published key; /verify fails once the ledger no longer holds the newest signed head), /verify?projections,
and erasure events reserved to admins."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import text

from mlineage.checkpoints import verify_signature
from mlineage.server.checkpoint_log import CheckpointLog
from mlineage.stores.sql import SqlStore

from .test_api import pipeline


def test_signatures_verify_and_the_log_is_monotonic(store: SqlStore, tmp_path: Path) -> None:
    log = CheckpointLog(store.engine)
    first = log.sign(5, "a" * 64)
    assert verify_signature(first, log.public_key)
    assert log.sign(3, "b" * 64) == first  # never backwards
    assert log.sign(5, "c" * 64) == first  # one checkpoint per seq
    forged = dict(first, hash="b" * 64)
    assert not verify_signature(forged, log.public_key)
    again = CheckpointLog(store.engine)  # the key kept in the database is reused
    assert again.public_key == log.public_key
    keyed = CheckpointLog(store.engine, tmp_path / "key.pem")  # a key file, created when missing
    assert (tmp_path / "key.pem").stat().st_mode & 0o777 == 0o600
    assert keyed.public_key != log.public_key
    assert CheckpointLog(store.engine, tmp_path / "key.pem").public_key == keyed.public_key
    assert not verify_signature(first, keyed.public_key)


def test_only_an_admin_may_authorise_an_erasure(admin: httpx.Client, server: object) -> None:
    from tests.server.conftest import ServerProcess

    first = admin.post("/events/batch", json={"events": pipeline("er")}).json()["events"][0]
    events = admin.get("/events", params={"after_seq": first["seq"] - 1, "limit": 1}).json()["events"]
    erasure = {"type": "PayloadErased", "payload": {
        "event_id": first["id"], "seq": first["seq"], "payload_sha256": events[0]["payload_sha256"],
        "reason": "personal data in the artifact name", "authorised_by": "dpo@example.com"}}
    writer = admin.post("/tokens", json={"name": "w", "scopes": ["write"], "namespace": "default"}).json()["token"]
    assert isinstance(server, ServerProcess)
    refused = httpx.post(server.url + "/api/v1/events", json=erasure, headers={"Authorization": f"Bearer {writer}"})
    assert refused.status_code == 403 and "admin" in refused.json()["error"]["message"]
    wrong = dict(erasure, payload=dict(erasure["payload"], seq=first["seq"] + 1))
    assert admin.post("/events", json=wrong).status_code == 400
    assert admin.post("/events", json=erasure).status_code == 200


def test_verify_projections_on_request(admin: httpx.Client, server: object) -> None:
    assert admin.post("/events/batch", json={"events": pipeline("pv")}).status_code == 200
    assert admin.get("/verify", params={"projections": "true"}).json()["projections"]["ok"] is True
    store = SqlStore(server.store_uri)  # type: ignore[attr-defined]
    try:
        with store.engine.connect() as conn, conn.begin():
            conn.execute(text("UPDATE runs SET status = 'failed' WHERE id = 'pv-train'"))
    finally:
        store.close()
    report = admin.get("/verify", params={"projections": "true"}).json()
    assert report["ok"] is False and report["projections"]["row"] == {"id": "pv-train"}
    assert "projections" not in admin.get("/verify").json()
    assert admin.post("/rebuild").status_code == 200
    assert admin.get("/verify", params={"projections": "true"}).json()["ok"] is True


def test_endpoints_publish_the_key_and_verify_against_the_log(admin: httpx.Client, server: object) -> None:
    assert admin.post("/events/batch", json={"events": pipeline("cp")}).status_code == 200
    key = httpx.get(str(admin.base_url).rstrip("/") + "/checkpoints/key").json()  # no token needed
    latest = admin.get("/checkpoints/latest").json()
    head = admin.get("/head").json()
    assert (latest["seq"], latest["hash"]) == (head["seq"], head["hash"])
    assert verify_signature(latest, key["public_key"])
    listed = admin.get("/checkpoints").json()["checkpoints"]
    assert listed[-1] == latest and all(verify_signature(c, key["public_key"]) for c in listed)
    report = admin.get("/verify").json()
    assert report["ok"] and report["checkpoint"]["seq"] == latest["seq"]

    store = SqlStore(server.store_uri)  # type: ignore[attr-defined]
    try:
        with store.engine.connect() as conn, conn.begin():
            if store.dialect == "sqlite":
                for trigger in ("events_no_delete", "ledger_head_forward"):
                    conn.execute(text(f"DROP TRIGGER {trigger}"))
            else:
                conn.execute(text("DROP TRIGGER events_no_update_delete ON events"))
                conn.execute(text("DROP TRIGGER ledger_head_forward ON ledger_head"))
            keep = latest["seq"] - 3
            conn.execute(text(f"DELETE FROM events WHERE seq > {keep}"))
            conn.execute(text(f"UPDATE ledger_head SET seq = {keep}, hash = (SELECT hash FROM events WHERE seq = {keep})"))
    finally:
        store.close()
    report = admin.get("/verify").json()
    assert not report["ok"]
    assert f"3 event(s) written up to then are missing (seq {latest['seq'] - 2} to {latest['seq']})" in report["problem"]
