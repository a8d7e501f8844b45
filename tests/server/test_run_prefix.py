"""The server's /runs/{id} routes take a unique id prefix, as the CLI does, and answer 409 with the candidates
when a prefix matches several runs. On SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

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
    assert missing.status_code == 404 and "no run id starts with 'pfxnone'" in missing.json()["error"]["message"]
