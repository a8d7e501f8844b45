"""W3C PROV export: the documents validate against the PROV-JSON schema and say what the lineage says, on
both metadata backends; PROV-N and PROV-JSONLD read back into the same PROV graph."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from .conftest import FIXTURES, Pipeline

PROV_SCHEMA = json.loads((FIXTURES / "prov" / "schemas" / "prov-json.schema.json").read_text())


def validate_prov_json(document: Any) -> None:
    jsonschema.Draft4Validator(PROV_SCHEMA, format_checker=jsonschema.FormatChecker()).validate(document)


def test_the_schema_accepts_real_prov_documents_and_rejects_incomplete_ones() -> None:
    """The validator is the real, strict thing: most of prov's own PROV-JSON test documents pass; those whose
    relations lack a required end (prov tests partial statements too) are rejected."""
    validator = jsonschema.Draft4Validator(PROV_SCHEMA, format_checker=jsonschema.FormatChecker())
    documents = sorted((FIXTURES / "prov" / "json").glob("*.json"))
    valid = [p for p in documents if validator.is_valid(json.loads(p.read_text()))]
    assert len(valid) >= 300 and len(valid) < len(documents)
    with pytest.raises(jsonschema.ValidationError, match="prov:activity"):
        validate_prov_json({"wasAssociatedWith": {"_:a1": {"prov:agent": "ex:ag1"}},
                            "prefix": {"ex": "http://example.org/"}})


def test_prov_json_validates_and_maps_every_node_and_edge(client: Any, pipeline: Pipeline) -> None:
    document = json.loads(client.export_provenance("clf", "prov-json"))
    validate_prov_json(document)
    model, clean, raw, base = (str(a.digest)
                               for a in (pipeline.model, pipeline.clean, pipeline.raw, pipeline.base))
    train, prep = f"run:{pipeline.train_run}", f"run:{pipeline.prep_run}"
    assert set(document["entity"]) == {model, clean, raw, base}
    assert document["entity"][model]["mlineage:name"] == "clf"
    assert document["entity"][model]["mlineage:digest"] == model
    assert set(document["activity"]) == {train, prep}
    activity = document["activity"][train]
    assert activity["prov:startTime"] and activity["prov:endTime"]
    assert activity["param:epochs"] == {"$": "3", "type": "xsd:int"}
    assert json.loads(activity["param:layers"]) == [64, 32]
    assert float(activity["metric:accuracy"]["$"]) == 0.93
    assert len(document["agent"]) == 1
    used = {(u["prov:activity"], u["prov:entity"], u.get("prov:role")) for u in document["used"].values()}
    assert used == {(train, clean, "train"), (prep, raw, "source")}
    generated = {(g["prov:entity"], g["prov:activity"]) for g in document["wasGeneratedBy"].values()}
    assert generated == {(model, train), (clean, prep)}
    derived = {(d["prov:generatedEntity"], d["prov:usedEntity"], d.get("prov:activity"))
               for d in document["wasDerivedFrom"].values()}
    assert derived == {(model, base, None), (model, clean, train), (clean, raw, prep)}
    associated = {a["prov:activity"] for a in document["wasAssociatedWith"].values()}
    assert associated == {train, prep}


def test_prov_n_and_jsonld_read_back_as_the_same_graph(client: Any, pipeline: Pipeline) -> None:
    from prov.model import ProvDocument

    text = client.export_provenance("clf", "prov-json")
    reference = ProvDocument.deserialize(io.StringIO(text), format="json")
    provn = client.export_provenance("clf", "prov-n")
    assert provn.startswith("document\n") and f"run:{pipeline.train_run}" in provn
    for fmt, name in (("prov-n", "provn"), ("prov-jsonld", "jsonld")):
        text = client.export_provenance("clf", fmt)
        back = ProvDocument.deserialize(io.StringIO(text), format=name)
        assert back == reference, fmt


def test_prov_o_is_rdf_with_the_prov_ontology_terms(client: Any, pipeline: Pipeline) -> None:
    import rdflib

    graph = rdflib.Graph().parse(data=client.export_provenance("clf", "prov-o"), format="turtle")
    prov = rdflib.Namespace("http://www.w3.org/ns/prov#")
    model, clean = (rdflib.URIRef(f"urn:{a.digest}") for a in (pipeline.model, pipeline.clean))
    train = rdflib.URIRef(f"urn:mlineage:run:{pipeline.train_run}")
    assert (model, rdflib.RDF.type, prov.Entity) in graph
    assert (train, rdflib.RDF.type, prov.Activity) in graph
    assert (model, prov.wasGeneratedBy, train) in graph
    usage = graph.value(train, prov.qualifiedUsage)
    assert graph.value(usage, prov.entity) == clean and str(graph.value(usage, prov.hadRole)) == "train"
    assert graph.value(train, prov.wasAssociatedWith) is not None


def test_a_run_ref_exports_its_ancestry_and_unknown_formats_are_refused(client: Any,
                                                                        pipeline: Pipeline) -> None:
    from mlineage.errors import NotFoundError, ValidationError

    document = json.loads(client.export_provenance(f"run:{pipeline.prep_run}", "prov-json"))
    validate_prov_json(document)
    assert set(document["entity"]) == {str(pipeline.raw.digest)}
    with pytest.raises(ValidationError, match="not an export format"):
        client.export_provenance("clf", "prov-xml")
    with pytest.raises(NotFoundError):
        client.export_provenance("nothing-like-this@1", "prov-json")


def test_cli_export_format_and_the_ledger_export_unchanged(client: Any, pipeline: Pipeline, store_uri: str,
                                                           tmp_path: Path) -> None:
    from click.testing import CliRunner

    from mlineage.cli.main import cli

    env = {"MLINEAGE_URI": store_uri, "MLINEAGE_ARTIFACTS": str(tmp_path / "objects")}
    out = tmp_path / "prov.json"
    result = CliRunner().invoke(cli, ["export", "--format", "prov-json", "clf", "-o", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text()) == json.loads(client.export_provenance("clf", "prov-json"))
    ledger = CliRunner().invoke(cli, ["export"], env=env)
    assert ledger.exit_code == 0 and json.loads(ledger.output.splitlines()[-1]).keys() == {"checkpoint"}
    no_ref = CliRunner().invoke(cli, ["export", "--format", "prov-n"], env=env)
    assert no_ref.exit_code == 2 and "pass its REF" in no_ref.output
    ref_without_format = CliRunner().invoke(cli, ["export", "clf"], env=env)
    assert ref_without_format.exit_code == 2 and "pass --format" in ref_without_format.output


def test_as_of_describes_the_lineage_as_it_stood_then(client: Any, pipeline: Pipeline) -> None:
    from mlineage import events as ev
    from mlineage.events import NewEvent

    before = client.store.head()[0]
    notes = client.record_artifact(_write(pipeline.folder / "notes.txt", "labelling notes"), kind="file")
    link = {"parent": str(notes.digest), "child": str(pipeline.model.digest)}
    client.append([NewEvent(ev.ARTIFACT_DERIVED, link)])
    now = json.loads(client.export_provenance("clf", "prov-json"))
    then = json.loads(client.export_provenance("clf", "prov-json", as_of=f"seq:{before}"))
    assert str(notes.digest) in now["entity"] and str(notes.digest) not in then["entity"]
    validate_prov_json(then)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
