"""Tokens, scopes and namespaces against a real server: one team cannot see or touch another's record."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator

import httpx
import pytest

from .conftest import ServerProcess

A = "sha256:" + hashlib.sha256(b"team-a-data").hexdigest()
B = "sha256:" + hashlib.sha256(b"team-b-data").hexdigest()


def ev(type_: str, **payload: object) -> dict[str, object]:
    return {"id": uuid.uuid4().hex, "type": type_, "payload": payload}


def as_token(server: ServerProcess, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


@pytest.fixture(scope="module")
def teams(server: ServerProcess, admin: httpx.Client) -> Iterator[dict[str, httpx.Client]]:
    made = {}
    for name, ns, scopes in (
        ("a-writer", "team-a", ["read", "write"]),
        ("b-writer", "team-b", ["read", "write"]),
        ("a-reader", "team-a", ["read"]),
        ("a-admin", "team-a", ["admin"]),
    ):
        response = admin.post("/tokens", json={"name": name, "scopes": scopes, "namespace": ns})
        assert response.status_code == 201, response.text
        made[name] = as_token(server, response.json()["token"])
    yield made
    for c in made.values():
        c.close()


def test_tokens_are_required_and_stored_hashed(server: ServerProcess, admin: httpx.Client) -> None:
    assert httpx.get(server.url + "/api/v1/runs").status_code == 401
    bad = httpx.get(server.url + "/api/v1/runs", headers={"Authorization": "Bearer mlt_nope"})
    assert bad.status_code == 401 and bad.json()["error"]["type"] == "AuthError"
    created = admin.post("/tokens", json={"name": "temp", "scopes": ["read"], "namespace": "x"}).json()
    from sqlalchemy import text

    from mlineage.stores.sql import SqlStore

    store = SqlStore(server.store_uri)
    try:
        with store.engine.connect() as conn:
            stored = [tuple(r) for r in conn.execute(text("SELECT * FROM server_tokens"))]
        assert not any(created["token"] in str(v) for row in stored for v in row)
        temp = as_token(server, created["token"])
        assert temp.get("/whoami").json()["namespace"] == "x"
        assert admin.delete(f"/tokens/{created['id']}").json()["revoked_at"]
        assert temp.get("/whoami").status_code == 401
        temp.close()
        # both admin actions are in the hash chain, with the token's id and never its secret or its hash
        audit = [e for e in store.iter_events() if e.type in ("TokenCreated", "TokenRevoked")
                 and e.payload and e.payload["token_id"] == created["id"]]
        assert store.verify().ok
    finally:
        store.close()
    assert [e.type for e in audit] == ["TokenCreated", "TokenRevoked"]
    assert audit[0].payload == {
        "token_id": created["id"],
        "name": "temp",
        "scopes": ["read"],
        "namespace": "x",
    }
    secret_hash = hashlib.sha256(created["token"].encode()).hexdigest()
    assert not any(created["token"] in str(e.payload) or secret_hash in str(e.payload) for e in audit)


def test_scopes(teams: dict[str, httpx.Client]) -> None:
    denied = teams["a-reader"].post("/events", json=ev("ArtifactRecorded", digest=A, kind="dataset"))
    assert denied.status_code == 403 and "write" in denied.json()["error"]["message"]
    assert teams["a-writer"].post("/tokens", json={"name": "x", "scopes": ["read"], "namespace": "team-a"}
                                  ).status_code == 403
    assert teams["a-writer"].post("/rebuild").status_code == 403
    # a namespace admin manages its own namespace's tokens only
    assert teams["a-admin"].post("/tokens", json={"name": "x", "scopes": ["read"], "namespace": "team-b"}
                                 ).status_code == 403
    assert teams["a-admin"].post("/tokens", json={"name": "x", "scopes": ["read"], "namespace": "team-a"}
                                 ).status_code == 201


def test_namespace_isolation(teams: dict[str, httpx.Client], admin: httpx.Client) -> None:
    a, b = teams["a-writer"], teams["b-writer"]
    assert a.post("/events/batch", json={"events": [
        ev("ArtifactRecorded", digest=A, kind="dataset", name="secret-a"),
        ev("RunStarted", run_id="run-a", job="train-a"),
        ev("ArtifactUsed", run_id="run-a", digest=A),
    ]}).status_code == 200
    assert b.post("/events/batch", json={"events": [
        ev("ArtifactRecorded", digest=B, kind="dataset", name="data-b"),
    ]}).status_code == 200
    # B sees nothing of A's
    assert b.get(f"/artifacts/{A}").status_code == 404
    assert b.get("/runs/run-a").status_code == 404
    assert b.get("/versions/secret-a").status_code == 404
    assert b.get("/trace", params={"ref": "run:run-a"}).status_code == 404
    assert b.get(f"/blobs/{A}").status_code == 404
    assert all(r["id"] != "run-a" for r in b.get("/runs").json()["runs"])
    assert [x["digest"] for x in b.get("/artifacts").json()["artifacts"]] == [B]
    # B cannot write into A's run nor link A's artifact
    forbidden = b.post("/events", json=ev("RunEnded", run_id="run-a", status="completed"))
    assert forbidden.status_code == 403 and "team-b" in forbidden.json()["error"]["message"]
    assert b.post("/events/batch", json={"events": [ev("RunStarted", run_id="run-b", job="t"),
                                                    ev("ArtifactUsed", run_id="run-b", digest=A)]}
                  ).status_code == 403
    assert admin.get("/runs/run-b").status_code == 404  # the refused batch wrote nothing
    # A sees its own; the all-namespaces admin sees both
    assert a.get("/trace", params={"ref": "run:run-a"}).json()["count"] == 1
    assert a.get(f"/artifacts/{B}").status_code == 404
    assert admin.get(f"/artifacts/{A}").status_code == 200 and admin.get(f"/artifacts/{B}").status_code == 200
    # the raw ledger spans every team: only a '*' token reads it
    assert a.get("/events").status_code == 403
    assert admin.get("/events", params={"limit": 5}).status_code == 200
