"""The HTTP API against a real server process, on SQLite and PostgreSQL: writes, reads, queries, bad input."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import httpx

from mlineage.sdk.client import Client

D = ["sha256:" + hashlib.sha256(f"blob-{i}".encode()).hexdigest() for i in range(10)]


def ev(type_: str, **payload: object) -> dict[str, object]:
    return {"id": uuid.uuid4().hex, "type": type_, "payload": payload}


def pipeline(prefix: str) -> list[dict[str, object]]:
    raw, clean, model = (f"sha256:{hashlib.sha256(f'{prefix}-{n}'.encode()).hexdigest()}"
                         for n in ("raw", "clean", "model"))
    return [
        ev("ArtifactRecorded", digest=raw, kind="dataset", name=f"{prefix}-raw"),
        ev("RunStarted", run_id=f"{prefix}-prep", job="prep", kind="transform"),
        ev("ArtifactUsed", run_id=f"{prefix}-prep", digest=raw),
        ev("ArtifactRecorded", digest=clean, kind="dataset", name=f"{prefix}-clean"),
        ev("ArtifactProduced", run_id=f"{prefix}-prep", digest=clean),
        ev("RunEnded", run_id=f"{prefix}-prep", status="completed"),
        ev("RunStarted", run_id=f"{prefix}-train", job="train", kind="train", params={"lr": 0.1}),
        ev("ArtifactUsed", run_id=f"{prefix}-train", digest=clean),
        ev("MetricsLogged", run_id=f"{prefix}-train", metrics=[{"key": "acc", "value": 0.9, "step": 1}]),
        ev("ArtifactRecorded", digest=model, kind="model", name=f"{prefix}-model"),
        ev("ArtifactProduced", run_id=f"{prefix}-train", digest=model),
        ev("RunEnded", run_id=f"{prefix}-train", status="completed"),
    ]


def test_batch_append_reads_and_queries_match_the_core(admin: httpx.Client, server: object) -> None:
    events = pipeline("p1")
    first = admin.post("/events/batch", json={"events": events})
    assert first.status_code == 200, first.text
    assert first.json()["accepted"] == len(events)
    again = admin.post("/events/batch", json={"events": events})  # a retried batch duplicates nothing
    assert again.json() == {"accepted": 0, "duplicates": len(events), "head_seq": first.json()["head_seq"],
                            "events": []}
    run = admin.get("/runs/p1-train").json()
    assert run["status"] == "completed" and run["metrics"] == {"acc": 0.9} and run["params"] == {"lr": 0.1}
    io = admin.get("/runs/p1-train/io").json()
    assert [a["name"] for a in io["inputs"]] == ["p1-clean"]
    assert admin.get("/versions/p1-model").json()["version"] == 1
    assert admin.get("/runs/p1-train/metrics/acc").json()["history"][0]["value"] == 0.9

    over_http = admin.get("/trace", params={"ref": "p1-model"}).json()
    local = Client.for_uri(server.store_uri, server.artifacts)  # type: ignore[attr-defined]
    try:
        direct = local.trace("p1-model").to_dict()
        impact_direct = local.impact("p1-raw", depth=1).to_dict()
    finally:
        local.close()
    assert over_http["nodes"] == direct["nodes"] and over_http["edges"] == direct["edges"]
    assert over_http["count"] == 4
    impact = admin.get("/impact", params={"ref": "p1-raw", "depth": 1}).json()
    assert impact["nodes"] == impact_direct["nodes"] and impact["truncated"] == impact_direct["truncated"]
    assert admin.get("/verify").json()["ok"] is True
    local = Client.for_uri(server.store_uri, server.artifacts)  # type: ignore[attr-defined]
    try:
        path_direct = local.path("p1-raw", "p1-model").to_dict()
        closure_direct = local.closure("p1-model").to_dict()
        diff_direct = local.lineage_diff("p1-model", "p1-clean").to_dict()
    finally:
        local.close()
    assert admin.get("/path", params={"source": "p1-raw", "target": "p1-model"}).json() == path_direct
    assert admin.get("/closure", params={"ref": "p1-model"}).json() == closure_direct
    assert admin.get("/lineage-diff", params={"a": "p1-model", "b": "p1-clean"}).json() == diff_direct


def test_single_event_append_is_idempotent(admin: httpx.Client) -> None:
    one = ev("ArtifactRecorded", digest=D[0], kind="file")
    assert admin.post("/events", json=one).json()["accepted"] == 1
    assert admin.post("/events", json=one).json()["accepted"] == 0
    assert admin.get(f"/artifacts/{D[0]}").json()["digest"] == D[0]


def test_bad_input_is_4xx_json_and_writes_nothing(admin: httpx.Client) -> None:
    head = admin.get("/head").json()
    cases = [
        admin.post("/events/batch", content=b"{not json", headers={"content-type": "application/json"}),
        admin.post("/events/batch", json={"events": [ev("NoSuchType")]}),
        admin.post(
            "/events/batch", json={"events": [ev("ArtifactRecorded", digest="sha256:xyz", kind="file")]}
        ),
        # a good event followed by one linking an unknown artifact: the whole batch is refused
        admin.post(
            "/events/batch",
            json={
                "events": [
                    ev("ArtifactRecorded", digest=D[5], kind="file"),
                    ev("ArtifactDerived", parent=D[5], child=D[6]),
                ]
            },
        ),
        admin.post("/events/batch", json={"events": [ev("RunEnded", run_id="nope", status="completed")]}),
        admin.post(
            "/events/batch",
            content=b"[" + b"1," * 600_000 + b"1]",
            headers={"content-type": "application/json"},
        ),
        admin.get(f"/artifacts/{D[9]}"),
        admin.get("/artifacts/not-a-digest"),
        admin.get("/trace", params={"ref": D[9]}),
        admin.get(f"/blobs/{D[9]}"),
        admin.post("/lineage", content=b"{", headers={"content-type": "application/json"}),
        admin.post("/lineage", json={"eventType": "START"}),
    ]
    for response in cases:
        assert 400 <= response.status_code < 500, (response.status_code, response.text)
        body = response.json()
        assert body["error"]["message"], body
    assert cases[0].status_code == 400 and "malformed JSON" in cases[0].json()["error"]["message"]
    assert cases[1].json()["error"]["field"] == "type"
    assert cases[3].status_code == 404 and D[6] in cases[3].json()["error"]["message"]
    assert cases[5].status_code == 413
    assert admin.get("/head").json() == head
    assert admin.get(f"/artifacts/{D[5]}").status_code == 404  # the good half of the refused batch is absent


def test_blob_upload_and_download_by_digest(admin: httpx.Client) -> None:
    data = b"model weights" * 100
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    wrong = admin.put(f"/blobs/{D[7]}", content=data)
    assert wrong.status_code == 400 and "hashes to" in wrong.json()["error"]["message"]
    assert admin.put(f"/blobs/{digest}", content=data).status_code == 201
    assert admin.put(f"/blobs/{digest}", content=data).status_code == 200
    assert admin.get(f"/blobs/{digest}").content == data


def test_openapi_spec_is_served(server: object) -> None:
    spec = httpx.get(server.url + "/openapi.json").json()  # type: ignore[attr-defined]
    assert spec["info"]["title"] == "mlineage"
    assert {"/api/v1/events/batch", "/api/v1/lineage", "/api/v1/trace", "/api/v1/blobs/{digest}"} <= set(
        spec["paths"]
    )
    assert json.dumps(spec)


def test_concurrent_clients_keep_one_valid_chain(admin: httpx.Client) -> None:
    from concurrent.futures import ThreadPoolExecutor

    before = admin.get("/head").json()["seq"]
    clients, batches, per_batch = 8, 5, 10

    def writer(w: int) -> int:
        with httpx.Client(base_url=str(admin.base_url), headers=dict(admin.headers), timeout=120) as c:
            for b in range(batches):
                events = [
                    ev(
                        "ArtifactRecorded",
                        digest="sha256:" + hashlib.sha256(f"c{w}-{b}-{i}".encode()).hexdigest(),
                        kind="file",
                    )
                    for i in range(per_batch)
                ]
                assert c.post("/events/batch", json={"events": events}).status_code == 200
        return w

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(writer, range(clients)))
    report = admin.get("/verify").json()
    assert report["ok"] is True
    assert report["head_seq"] - before == clients * batches * per_batch


def test_queued_batches_are_chained_by_the_worker(admin: httpx.Client) -> None:
    from .conftest import wait_ingested

    good = [
        ev("ArtifactRecorded", digest="sha256:" + hashlib.sha256(f"q-{i}".encode()).hexdigest(), kind="file")
        for i in range(30)
    ]
    bad = ev("RunEnded", run_id="never-started", status="completed")
    response = admin.post("/events/batch", params={"wait": "false"}, json={"events": good + [bad]})
    assert response.status_code == 202 and response.json() == {"queued": 31, "duplicates": 0}
    assert (
        admin.post("/events/batch", params={"wait": "false"}, json={"events": good}).json()["duplicates"]
        == 30
    )
    lag = wait_ingested(admin)
    assert any("never-started" in (f["error"] or "") for f in lag["recent_failures"])
    for e in good[:3]:
        assert admin.get(f"/artifacts/{e['payload']['digest']}").status_code == 200
    assert admin.get("/verify").json()["ok"] is True


def test_several_server_processes_share_one_database(backend_uri: str, tmp_path: Path) -> None:
    """--workers 2: requests spread over two processes; only one projects queued events, in order."""
    from .conftest import ServerProcess, admin_token, wait_ingested

    server = ServerProcess(backend_uri, tmp_path / "objects", extra=["--workers", "2"]).start()
    token = admin_token(backend_uri)
    try:
        with httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"},
                          timeout=60) as c:
            failed_before = c.get("/ingestion").json()[
                "failed"
            ]  # the module's database: earlier tests' refusals
            events = pipeline("multi")
            for e in events:  # one at a time, queued: the order must survive whichever process takes each
                assert (
                    c.post("/events/batch", params={"wait": "false"}, json={"events": [e]}).status_code == 202
                )
            lag = wait_ingested(c)
            assert lag["failed"] == failed_before, lag
            assert c.get("/trace", params={"ref": "multi-model"}).json()["count"] == 4
            assert c.get("/verify").json()["ok"] is True
    finally:
        server.stop()



def test_a_server_on_another_schema_does_not_hold_this_ones_queue(pg_url: str, pg_admin_url: str,
                                                                  tmp_path: Path) -> None:
    """The projecting worker's lock is per store (PostgreSQL schema): a server already running on another
    schema of the same database, whose worker holds its lock, does not stop this server draining its queue."""
    from tests.conftest import drop_pg_schema, make_pg_schema_url

    from .conftest import ServerProcess, admin_token, wait_ingested

    other_url, other = make_pg_schema_url(pg_admin_url)
    first = ServerProcess(other_url, tmp_path / "other-objects").start()
    server = ServerProcess(pg_url, tmp_path / "objects").start()
    try:
        with httpx.Client(base_url=server.url + "/api/v1", timeout=60,
                          headers={"Authorization": f"Bearer {admin_token(server.store_uri)}"}) as admin:
            digest = "sha256:" + hashlib.sha256(b"another schema's worker").hexdigest()
            queued = admin.post("/events/batch", params={"wait": "false"},
                                json={"events": [ev("ArtifactRecorded", digest=digest, kind="file")]})
            assert queued.status_code == 202
            wait_ingested(admin)
            assert admin.get(f"/artifacts/{digest}").status_code == 200
    finally:
        server.stop()
        first.stop()
        drop_pg_schema(pg_admin_url, other)
