"""The server's audit surface, on SQLite and PostgreSQL: the signed checkpoint log (signatures check against
the published key; /verify fails once the ledger no longer holds the newest signed head), /verify?projections,
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
    writer = admin.post("/tokens", json={"name": "w", "scopes": ["write"], "namespace": "default"}).json()[
        "token"
    ]
    assert isinstance(server, ServerProcess)
    refused = httpx.post(
        server.url + "/api/v1/events", json=erasure, headers={"Authorization": f"Bearer {writer}"}
    )
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


def test_client_times_are_checked_and_never_order_time_travel(admin: httpx.Client, server: object) -> None:
    digest = "sha256:" + "7" * 64

    def post(ts: str) -> httpx.Response:
        return admin.post("/events", json={"type": "ArtifactRecorded", "ts": ts,
                                           "payload": {"digest": digest, "kind": "dataset"}})

    for bad, words in (("not-a-time", "not an RFC 3339 time"), ("1970-01-01T00:00:00Z", "before 2000"),
                       ("2999-01-01T00:00:00Z", "more than a day after")):
        refused = post(bad)
        assert refused.status_code == 400 and words in refused.json()["error"]["message"], refused.text
        assert refused.json()["error"]["field"] == "events[0].ts"
    claimed = "2001-01-01T00:00:00.000000Z"  # a wrong clock, but a possible time: kept as the event's claim
    accepted = post(claimed)
    assert accepted.status_code == 200
    seq = accepted.json()["events"][0]["seq"]
    assert accepted.json()["events"][0]["ts"] == claimed
    store = SqlStore(server.store_uri)  # type: ignore[attr-defined]
    try:
        assert store.seq_at("2002-01-01T00:00:00.000000Z") < seq  # ordered by when the server received it
    finally:
        store.close()


def test_same_id_other_content_is_409_naming_the_id(admin: httpx.Client) -> None:
    import uuid

    event = {"id": uuid.uuid4().hex, "type": "ArtifactRecorded",
             "payload": {"digest": "sha256:" + "8" * 64, "kind": "dataset"}}
    assert admin.post("/events", json=event).json()["accepted"] == 1
    again = admin.post("/events", json=event)
    assert again.status_code == 200 and again.json()["duplicates"] == 1
    other = dict(event, payload={"digest": "sha256:" + "9" * 64, "kind": "dataset"})
    conflict = admin.post("/events", json=other)
    assert conflict.status_code == 409 and event["id"] in conflict.json()["error"]["message"]
    assert conflict.json()["error"]["type"] == "EventConflictError"


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def test_deep_json_is_refused_at_once_in_the_error_shape(admin: httpx.Client) -> None:
    import json

    run = {"eventType": "START", "eventTime": "2026-01-01T00:00:00Z", "producer": "https://example.com/p",
           "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
           "job": {"namespace": "n", "name": "deep"}}
    for depth in (100, 450, 5000):
        body = dict(run, run={"runId": "3f5e83fa-3480-44ff-99c5-ff943cd7e4ff", "facets": {"x": "HERE"}})
        text = json.dumps(body).replace(
            '"HERE"', "[" * depth + "1" + "]" * depth
        )  # deeper than json.dumps goes
        response = admin.post("/lineage", content=text, headers={"content-type": "application/json"})
        assert response.status_code == 400, (depth, response.text[:300])
        assert "nested" in response.json()["error"]["message"]
    deep_event = {"type": "ArtifactRecorded", "payload": {"digest": "sha256:" + "6" * 64, "kind": "dataset",
                                                           "uri": "x", "metadata": _nested(100)}}
    assert admin.post("/events", json=deep_event).status_code == 400
    queued = admin.post("/events/batch", params={"wait": "false"}, json={"events": [deep_event]})
    assert queued.status_code == 400 and "error" in queued.json()
    unparsable = admin.post(
        "/events", content="[" * 5000 + "]" * 5000, headers={"content-type": "application/json"}
    )
    assert unparsable.status_code == 400 and set(unparsable.json()) == {"error"}, unparsable.text


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
            conn.execute(
                text(
                    f"UPDATE ledger_head SET seq = {keep}, hash = (SELECT hash FROM events WHERE seq = "
                    f"{keep})"
                )
            )
    finally:
        store.close()
    report = admin.get("/verify").json()
    assert not report["ok"]
    assert (
        f"3 event(s) written up to then are missing (seq {latest['seq'] - 2} to {latest['seq']})"
        in report["problem"]
    )
