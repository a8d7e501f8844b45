"""The server's /runs/{id} routes take a unique id prefix, as the CLI does, and answer 409 with the candidates
when a prefix matches several runs. On SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx


def _run(run_id: str) -> list[dict[str, object]]:
    return [{"id": uuid.uuid4().hex, "type": "RunStarted", "payload": {"run_id": run_id, "job": "train"}},
            {"id": uuid.uuid4().hex, "type": "MetricsLogged",
             "payload": {"run_id": run_id, "metrics": [{"key": "acc", "value": 0.5, "step": 0}]}}]


def test_runs_by_unique_prefix_and_ambiguity(admin: httpx.Client) -> None:
    events = _run("pfxonly-7f3a91") + _run("pfxtwo-aa11") + _run("pfxtwo-aa22")
    assert admin.post("/events/batch", json={"events": events}).status_code == 200
    assert admin.get("/runs/pfxonly-7f3a91").json()["id"] == "pfxonly-7f3a91"
    assert admin.get("/runs/pfxonly").json()["id"] == "pfxonly-7f3a91"
    assert admin.get("/runs/pfxonly/metrics/acc").json()["history"][0]["value"] == 0.5
    assert admin.get("/runs/pfxonly/io").json() == {"inputs": [], "outputs": []}
    ambiguous = admin.get("/runs/pfxtwo")
    assert ambiguous.status_code == 409
    error = ambiguous.json()["error"]
    assert error["type"] == "AmbiguousRefError" and "ambiguous" in error["message"]
    assert [c.split()[1] for c in error["detail"]["candidates"]] == ["pfxtwo-aa11", "pfxtwo-aa22"]
    missing = admin.get("/runs/pfxnone")
    assert (
        missing.status_code == 404 and "no run id starts with 'pfxnone'" in missing.json()["error"]["message"]
    )


def test_versions_and_their_users_over_http(admin: httpx.Client, server: object, tmp_path: Path) -> None:
    from mlineage.sdk.remote import RemoteStore
    from mlineage.versions import versions_of

    digests = ["sha256:" + c * 64 for c in "ef"]
    events = [{"id": uuid.uuid4().hex, "type": "ArtifactRecorded",
               "payload": {"digest": d, "kind": "model", "name": "remote/clf"}} for d in digests]
    events += _run("pfxuser-1") + [{"id": uuid.uuid4().hex, "type": "ArtifactUsed",
                                    "payload": {"run_id": "pfxuser-1", "digest": digests[0]}}]
    assert admin.post("/events/batch", json={"events": events}).status_code == 200
    listed = admin.get("/names/remote/clf/versions").json()["versions"]
    assert [(v["artifact"]["version"], v["artifact"]["digest"]) for v in listed] == [(1, digests[0]),
                                                                                      (2, digests[1])]
    assert [r["id"] for r in admin.get(f"/artifacts/{digests[0]}/consumers").json()["runs"]] == ["pfxuser-1"]
    token = admin.headers["Authorization"].removeprefix("Bearer ")
    store = RemoteStore(server.url, token=token, spool_dir=tmp_path / "spool")  # type: ignore[attr-defined]
    try:
        assert [v.artifact.version for v in versions_of(store, "remote/clf")] == [1, 2]
        assert [r.id for r in store.consumers_of(digests[0])] == ["pfxuser-1"]
    finally:
        store.close()


def test_last_seen_over_http(admin: httpx.Client, server: object, tmp_path: Path) -> None:
    from mlineage.sdk.remote import RemoteStore

    beat = {"id": uuid.uuid4().hex, "type": "RunHeartbeat",
            "payload": {"run_id": "pfxbeat-1", "at": "2099-01-01T00:00:00.000000Z"}}
    assert admin.post("/events/batch", json={"events": [*_run("pfxbeat-1"), beat]}).status_code == 200
    assert admin.get("/runs/pfxbeat/last-seen").json() == {"last_seen": "2099-01-01T00:00:00.000000Z"}
    token = admin.headers["Authorization"].removeprefix("Bearer ")
    store = RemoteStore(server.url, token=token, spool_dir=tmp_path / "spool")  # type: ignore[attr-defined]
    try:
        assert store.last_seen("pfxbeat-1") == "2099-01-01T00:00:00.000000Z"
        assert store.last_seen("pfxbeat-none") is None
    finally:
        store.close()
