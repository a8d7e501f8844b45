"""OpenLineage: the official schema on real peers' files, the mapping, export, and the official client."""

from __future__ import annotations

import copy
import gzip
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mlineage.errors import ValidationError
from mlineage.interop import openlineage as ol
from mlineage.model import Artifact, ArtifactKind, Digest, Run, RunKind, RunStatus

from .conftest import MARQUEZ_FIXTURES, OL_FIXTURES, ServerProcess, wait_ingested

FLUENTD = OL_FIXTURES / "proxy" / "fluentd" / "events"
DBT = OL_FIXTURES / "integration" / "common" / "tests" / "dbt" / "structured_logs"
INVALID = sorted(FLUENTD.glob("event_invalid_*.json")) + [FLUENTD / "event_no_run_id.json"]
# Valid per the shipped schema. Marquez's and fluentd's event_full.json are not: their dataQualityMetrics
# input facet lacks columnMetrics, which DataQualityMetricsInputDatasetFacet 1-0-3 requires (see
# docs/server.md).
VALID = ([FLUENTD / "event_simple.json", OL_FIXTURES / "spec" / "tests" / "example_full_event.json"]
         + sorted(p for p in MARQUEZ_FIXTURES.rglob("*.json") if p.name != "event_full.json")
         + sorted((OL_FIXTURES / "client" / "python" / "tests").glob("serde_example_*_event.json")))


def load(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_real_peer_events_validate(path: Path) -> None:
    ol.validate_event(load(path))


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_events_are_rejected_naming_the_field(path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        ol.validate_event(load(path))
    assert info.value.field and info.value.problem


def test_full_event_with_an_incomplete_quality_facet_is_rejected() -> None:
    with pytest.raises(ValidationError, match="columnMetrics"):
        ol.validate_event(load(MARQUEZ_FIXTURES / "event_full.json"))


class FakeState:
    def __init__(self) -> None:
        self.runs: dict[str, str] = {}
        self.latest: dict[str, str] = {}

    def run_status(self, run_id: str) -> str | None:
        return self.runs.get(run_id)

    def latest_version(self, label: str, exclude_run: str) -> str | None:
        return self.latest.get(label)


def test_mapping_is_deterministic_and_links_producer_to_consumer() -> None:
    doc = load(FLUENTD / "event_simple.json")
    state = FakeState()
    first = ol.to_core_events(doc, state, "x")
    assert [e.id for e in first] == [e.id for e in ol.to_core_events(doc, state, "x")]
    types = [e.type for e in first]
    assert types[0] == "RunStarted" and types[-1] == "RunEnded"
    assert types.count("ArtifactUsed") == len(doc["inputs"]) and types.count("ArtifactProduced") == len(
        doc["outputs"]
    )
    out = doc["outputs"][0]
    produced = ol.dataset_digest(out["namespace"], out["name"], f"run:{doc['run']['runId']}")
    assert any(e.payload.get("digest") == produced for e in first if e.type == "ArtifactProduced")
    # a later run reading that dataset without a version facet uses the latest known version
    state.latest[ol.dataset_label(out["namespace"], out["name"])] = produced
    reader = {**copy.deepcopy(doc), "run": {"runId": str(uuid.uuid4())}, "inputs": [out], "outputs": []}
    used = [e for e in ol.to_core_events(reader, state, "y") if e.type == "ArtifactUsed"]
    assert used[0].payload["digest"] == produced


def test_export_validates_against_the_official_schema() -> None:
    art = Artifact(Digest.parse("sha256:" + "a" * 64), ArtifactKind.DATASET, name="d")
    run = Run(
        "r-1",
        "train",
        RunKind.TRAIN,
        RunStatus.FAILED,
        error={"type": "ValueError", "message": "boom"},
        started_at="2024-01-01T00:00:00Z",
        ended_at="2024-01-01T00:01:00Z",
    )
    events = ol.run_to_events(run, [art], [art])
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    for e in events:
        ol.validate_event(e)


# ---------------------------------------------------------------- through the server


PLACEHOLDER = str(uuid.uuid5(uuid.NAMESPACE_URL, "dbt-placeholder"))


def dbt_stream(path: Path) -> list[dict[str, Any]]:
    """A dbt integration's expected stream, with its template placeholders filled in with real values."""
    runs: dict[str, str] = {}
    out = []
    for e in load(path):
        e = copy.deepcopy(e)
        key = e["job"]["name"]
        e["run"]["runId"] = runs.setdefault(key, str(uuid.uuid4()))
        e.setdefault("producer", "https://github.com/OpenLineage/OpenLineage/tree/1.0.0/integration/dbt")
        e.setdefault("schemaURL", ol.SCHEMA_URL)
        groups = [e["run"].get("facets"), e["job"].get("facets")]
        for ds in (e.get("inputs") or []) + (e.get("outputs") or []):
            groups += [ds.get("facets"), ds.get("inputFacets"), ds.get("outputFacets")]
        for where in groups:
            for facet in (where or {}).values():
                if isinstance(facet, dict):
                    facet.setdefault("_producer", e["producer"])
                    facet.setdefault("_schemaURL", "https://openlineage.io/spec/facets/1-0-0/Facet.json")
        out.append(json.loads(json.dumps(e).replace("{{ any(result) }}", PLACEHOLDER)))
    return out


def test_dbt_failed_run_stream_becomes_failed_runs(admin: httpx.Client) -> None:
    stream = dbt_stream(DBT / "postgres" / "run" / "results" / "failed_run_ol_events.json")
    for e in stream:
        response = admin.post("/lineage", json=e)
        assert response.status_code in (200, 201), response.text
    assert admin.post("/lineage", json=stream[0]).json()["status"] == "duplicate"
    lag = wait_ingested(admin)
    assert lag["failed"] == 0, lag
    runs = {r["job"]: r for r in admin.get("/runs", params={"limit": 500}).json()["runs"]}
    failed = [
        r for r in runs.values() if r["status"] == "failed" and r["job"].startswith("dbt-test-namespace/")
    ]
    assert failed and all(r["error"] for r in failed)


def test_marquez_events_project_into_lineage(admin: httpx.Client) -> None:
    doc = load(MARQUEZ_FIXTURES / "event_simple.json")
    doc = {**doc, "run": {**doc["run"], "runId": str(uuid.uuid4())}}
    body = gzip.compress(json.dumps(doc).encode())
    response = admin.post("/lineage", content=body, headers={"content-type": "application/json",
                                                                "content-encoding": "gzip"})
    assert response.status_code == 201, response.text
    wait_ingested(admin)
    run_id = doc["run"]["runId"]
    io = admin.get(f"/runs/{run_id}/io").json()
    assert len(io["inputs"]) == len(doc["inputs"]) and len(io["outputs"]) == len(doc["outputs"])
    assert io["inputs"][0]["metadata"]["source"] == "openlineage"
    exported = admin.get(f"/runs/{run_id}/openlineage").json()["events"]
    for e in exported:
        ol.validate_event(e)
    assert exported[0]["run"]["runId"] == run_id


def test_a_facet_that_breaks_its_schema_is_left_out_and_named(admin: httpx.Client) -> None:
    """Marquez's ``event_full.json`` carries a ``dataQualityMetrics`` facet in an older shape: the event is
    accepted without that facet, and the answer names it."""
    doc = load(MARQUEZ_FIXTURES / "event_full.json")
    doc = {**doc, "run": {**doc["run"], "runId": str(uuid.uuid4())}}
    response = admin.post("/lineage", json=doc)
    assert response.status_code == 201, response.text
    assert response.json()["dropped_facets"] == [
        "inputs[0].inputFacets.dataQualityMetrics: 'columnMetrics' is a required property"]
    wait_ingested(admin)
    io = admin.get(f"/runs/{doc['run']['runId']}/io").json()
    assert len(io["inputs"]) == len(doc["inputs"]) and len(io["outputs"]) == len(doc["outputs"])
    simple = admin.post("/lineage", json=load(MARQUEZ_FIXTURES / "event_simple.json"))
    assert "dropped_facets" not in simple.json()


@pytest.fixture
def ol_client(server: ServerProcess, admin: httpx.Client) -> Iterator[Any]:
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

    token = admin.post(
        "/tokens", json={"name": "airflow", "scopes": ["write"], "namespace": "pipelines"}
    ).json()
    config = HttpConfig(url=server.url, endpoint="api/v1/lineage", timeout=60,
                        auth=ApiKeyTokenProvider({"apiKey": token["token"]}))
    client = OpenLineageClient(transport=HttpTransport(config))
    yield client
    client.close() if hasattr(client, "close") else None


def test_official_openlineage_python_client(ol_client: Any, admin: httpx.Client) -> None:
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import schema_dataset

    schema = schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name="id", type="int")]
    )
    job = Job(namespace="airflow", name="etl.load")
    producer = "https://github.com/OpenLineage/OpenLineage/tree/1.0.0/client/python"
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    for run_id, inputs, outputs in (
        (
            first,
            [InputDataset("pg", "raw.orders")],
            [OutputDataset("pg", "clean.orders", facets={"schema": schema})],
        ),
        (second, [InputDataset("pg", "clean.orders")], [OutputDataset("pg", "mart.revenue")]),
    ):
        for state in (RunState.START, RunState.COMPLETE):
            ol_client.emit(
                RunEvent(
                    eventType=state,
                    eventTime="2024-05-01T10:00:00.000Z",
                    run=Run(runId=run_id),
                    job=job,
                    producer=producer,
                    inputs=inputs,
                    outputs=outputs,
                )
            )
    wait_ingested(admin)
    assert admin.get(f"/runs/{first}").json()["status"] == "completed"
    trace = admin.get("/trace", params={"ref": f"run:{second}"}).json()
    names = {n.get("name") for n in trace["nodes"] if n["type"] == "artifact"}
    assert {
        "pg/clean.orders",
        "pg/raw.orders",
    } <= names  # the second run's input joins the first run's output
    clean = next(n for n in trace["nodes"] if n.get("name") == "pg/clean.orders")
    assert clean["metadata"]["schema"] == [{"name": "id", "type": "int"}]


@pytest.mark.parametrize(("event_type", "status"), [("COMPLETE", "completed"), ("FAIL", "failed"),
                                                    ("ABORT", "aborted"), ("RUNNING", None), ("OTHER", None)])
def test_run_states_map_to_run_status(event_type: str, status: str | None) -> None:
    doc = {**load(FLUENTD / "event_simple.json"), "eventType": event_type}
    if event_type == "FAIL":
        doc["run"] = {**doc["run"], "facets": {"errorMessage": {
            "_producer": "x", "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json",
            "message": "division by zero", "programmingLanguage": "python"}}}
    ol.validate_event(doc)
    mapped = ol.to_core_events(doc, FakeState(), "s")
    ended = [e for e in mapped if e.type == "RunEnded"]
    assert [e.payload["status"] for e in ended] == ([status] if status else [])
    if event_type == "FAIL":
        assert ended[0].payload["error"] == {"type": "python", "message": "division by zero"}
    state = FakeState()
    state.runs[doc["run"]["runId"]] = (
        "completed"  # a terminal event for a run already ended adds no second end
    )
    assert not [e for e in ol.to_core_events(doc, state, "t") if e.type in ("RunEnded", "RunStarted")]
