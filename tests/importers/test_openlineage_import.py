"""OpenLineage event logs into the ledger through the server's validation and mapping: the dbt
integration's real streams, Marquez's test events, idempotent re-import, a truncated line named by file and
line, and a round trip with the OpenLineage export."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from mlineage.errors import ValidationError
from mlineage.interop import openlineage as ol

from .conftest import FIXTURES

DBT = FIXTURES / "openlineage" / "integration" / "common" / "tests" / "dbt" / "structured_logs"
MARQUEZ = FIXTURES / "marquez" / "api" / "src" / "test" / "resources" / "open_lineage"


def dbt_stream(path: Path) -> list[dict[str, Any]]:
    """A dbt integration's expected stream with its template placeholders filled in (run ids derived from
    the job, so the stream is the same every time it is written)."""
    out = []
    for e in json.loads(path.read_text()):
        e = copy.deepcopy(e)
        e["run"]["runId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{path}:{e['job']['name']}"))
        e.setdefault("producer", "https://github.com/OpenLineage/OpenLineage/tree/1.0.0/integration/dbt")
        groups = [e["run"].get("facets"), e["job"].get("facets")]
        for ds in (e.get("inputs") or []) + (e.get("outputs") or []):
            groups += [ds.get("facets"), ds.get("inputFacets"), ds.get("outputFacets")]
        for where in groups:
            for facet in (where or {}).values():
                if isinstance(facet, dict):
                    facet.setdefault("_producer", e["producer"])
                    facet.setdefault("_schemaURL", "https://openlineage.io/spec/facets/1-0-0/Facet.json")
        placeholder = str(uuid.uuid5(uuid.NAMESPACE_URL, "dbt-placeholder"))
        out.append(json.loads(json.dumps(e).replace("{{ any(result) }}", placeholder)))
    return out


def write_lines(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def test_dbt_streams_import_and_reimport_adds_nothing(client, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    streams = [DBT / "postgres" / "run" / "results" / name
               for name in ("successful_run_ol_events.json", "failed_run_ol_events.json")]
    for i, stream in enumerate(streams):
        write_lines(logs / f"{i}-{stream.stem}.jsonl", dbt_stream(stream))
    (logs / "marquez.json").write_text((MARQUEZ / "event_simple.json").read_text())  # one event per file
    total = sum(len(json.loads(s.read_text())) for s in streams) + 1
    report = client.import_openlineage([logs])
    assert (report.units, report.imported) == (total, total)
    runs = client.store.list_runs(500)
    assert any(r.status.value == "failed" and r.error for r in runs)
    assert any(r.job.startswith("dbt-test-namespace/") and r.status.value == "completed" for r in runs)
    head = client.store.head()
    again = client.import_openlineage([logs])
    assert (again.imported, again.skipped, again.appended) == (0, total, 0)
    assert client.store.head() == head


def test_import_matches_what_the_server_inbox_maps(client, tmp_path: Path) -> None:
    """One code path: the importer's events are the mapping of the validated document, as the inbox's."""
    doc = json.loads((MARQUEZ / "event_simple.json").read_text())
    client.import_openlineage([write_lines(tmp_path / "one.jsonl", [doc])])
    run_id = doc["run"]["runId"]
    inputs, outputs = client.store.io_of_run(run_id)
    assert len(inputs) == len(doc["inputs"]) and len(outputs) == len(doc["outputs"])
    assert inputs[0][0].metadata["source"] == "openlineage"


def test_truncated_line_names_file_and_line(tmp_path: Path) -> None:
    from mlineage.sdk.client import Client

    client = Client.for_uri(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "blobs")
    events = dbt_stream(DBT / "postgres" / "run" / "results" / "successful_run_ol_events.json")
    log = write_lines(tmp_path / "events.jsonl", events[:2])
    with open(log, "a") as f:
        f.write(json.dumps(events[2])[:80])  # an interrupted writer
    with pytest.raises(ValidationError) as caught:
        client.import_openlineage([log])
    assert f"{log}:3" in str(caught.value) and "not a complete JSON event" in str(caught.value)
    assert client.store.counts()["runs"] == 1  # the lines before it are in: importing again resumes
    invalid = write_lines(tmp_path / "invalid.jsonl", [dict(events[0], eventType="EXPLODED")])
    with pytest.raises(ValidationError) as caught:
        client.import_openlineage([invalid])
    assert f"{invalid}:1 eventType" in str(caught.value)
    client.close()


def test_a_file_that_is_not_utf8_is_named_not_a_traceback(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from mlineage.cli.main import cli

    monkeypatch.chdir(tmp_path)
    env = {"MLINEAGE_URI": f"sqlite:///{tmp_path / 'cli.db'}", "MLINEAGE_ARTIFACTS": str(tmp_path / "blobs")}
    binary = tmp_path / "dump.json"
    binary.write_bytes(bytes([0xC4, 0xFF, 0x00, 0x81]) * 50)
    event = json.dumps(json.loads((MARQUEZ / "event_simple.json").read_text()))
    latin1 = tmp_path / "events.jsonl"
    latin1.write_bytes(event.encode() + b"\n" + event.encode().replace(b"}", b', "x": "caf\xe9"}', 1) + b"\n")
    for path in (binary, latin1):
        done = CliRunner().invoke(cli, ["import", "openlineage", str(path)], env=env)
        assert done.exit_code == 1 and isinstance(done.exception, SystemExit), done.exception
        assert f"error: {path}: is not UTF-8 text" in done.output, done.output


def test_round_trip_with_the_openlineage_export(tmp_path: Path) -> None:
    from mlineage.sdk.client import Client

    source = Client.for_uri(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "a-blobs")
    target = Client.for_uri(f"sqlite:///{tmp_path / 'b.db'}", tmp_path / "b-blobs")
    try:
        stream = dbt_stream(DBT / "postgres" / "run" / "results" / "successful_run_ol_events.json")
        source.import_openlineage([write_lines(tmp_path / "in.jsonl", stream)])
        exported = []
        for run in source.store.list_runs(500):
            inputs, outputs = source.store.io_of_run(run.id)
            exported += ol.run_to_events(run, [a for a, _ in inputs], [a for a, _ in outputs])
        target.import_openlineage([write_lines(tmp_path / "out.jsonl", exported)])
        for run in source.store.list_runs(500):
            back = target.store.get_run(run.id)
            assert back is not None and (back.job, back.status) == (run.job, run.status)
            ins, outs = source.store.io_of_run(run.id)
            ins_b, outs_b = target.store.io_of_run(run.id)
            assert len(ins) == len(ins_b) and len(outs) == len(outs_b)
    finally:
        source.close()
        target.close()


def test_every_marquez_test_event_imports_and_a_facet_that_breaks_its_schema_is_left_out(client) -> None:
    """Marquez ingests all of its own test events; ``event_full.json`` carries a ``dataQualityMetrics``
    facet without the ``columnMetrics`` its schema now requires, which used to refuse the whole event."""
    events = sorted(MARQUEZ.glob("*.json"))
    report = client.import_openlineage(events)
    assert (report.units, report.imported) == (len(events), len(events))
    assert report.warnings == [
        (f"{MARQUEZ / 'event_full.json'}: left out the facet inputs[0].inputFacets.dataQualityMetrics: "
         "'columnMetrics' is a required property")
    ]
    full = json.loads((MARQUEZ / "event_full.json").read_text())
    inputs, outputs = client.store.io_of_run(full["run"]["runId"])  # other test events share the run
    for recorded, sent in ((inputs, full["inputs"]), (outputs, full["outputs"])):
        assert {f"{d['namespace']}/{d['name']}" for d in sent} <= {a.name for a, _ in recorded}
    with pytest.raises(ValidationError, match=r"inputs\[0\]\.inputFacets\.dataQualityMetrics"):
        ol.validate_event(full)  # without somewhere to name what is left out, a broken facet refuses
