"""Event-based tracking: emitted domain events and OpenLineage dicts become lineage (locally and via a
server)."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import httpx

from mlineage.config import Settings
from mlineage.sdk.client import Client
from mlineage.sdk.emit import emit
from mlineage.stores.remote import RemoteStore

from .conftest import MARQUEZ_FIXTURES, ServerProcess

RAW = "sha256:" + hashlib.sha256(b"emit-raw").hexdigest()
MODEL = "sha256:" + hashlib.sha256(b"emit-model").hexdigest()


def story(client: Client, run_id: str) -> None:
    emit("DataIngested", client=client, digest=RAW, name="emit-raw", event_id=f"{run_id}-1")
    emit("TrainingStarted", client=client, run_id=run_id, job="train", params={"lr": 0.1}, inputs=[RAW],
         event_id=f"{run_id}-2")
    emit(
        "ModelExported", client=client, run_id=run_id, digest=MODEL, name="emit-model", event_id=f"{run_id}-3"
    )
    emit("TrainingCompleted", client=client, run_id=run_id, metrics={"acc": 0.8}, event_id=f"{run_id}-4")


def test_emit_locally_is_idempotent(tmp_path: Path) -> None:
    client = Client.for_uri(f"sqlite:///{tmp_path / 's.db'}", tmp_path / "objects")
    try:
        story(client, "emit-run")
        head = client.store.head()
        story(client, "emit-run")  # re-emitting the same event ids is harmless
        assert client.store.head() == head
        trace = client.trace("emit-model").to_dict()
        assert {n.get("name") for n in trace["nodes"]} >= {"emit-raw", "emit-model"}
        assert client.store.get_run("emit-run").metrics == {"acc": 0.8}  # type: ignore[union-attr]
        doc = json.loads((MARQUEZ_FIXTURES / "event_simple.json").read_text())
        doc["run"]["runId"] = str(uuid.uuid4())
        emit(doc, client=client)
        assert client.store.get_run(doc["run"]["runId"]).status.value == "completed"  # type: ignore[union-attr]
    finally:
        client.close()


def test_emit_through_the_server(server: ServerProcess, admin: httpx.Client, tmp_path: Path) -> None:
    token = admin.post("/tokens", json={"name": "emitter", "scopes": ["write"], "namespace": "emit"}).json()[
        "token"
    ]
    store = RemoteStore(server.url, token=token, spool_dir=tmp_path / "spool")
    client = Client(Settings(None, server.url, str(tmp_path / "objects")), store=store)  # type: ignore[arg-type]
    try:
        story(client, "emit-remote")
    finally:
        client.close()
    assert admin.get("/runs/emit-remote").json()["status"] == "completed"
