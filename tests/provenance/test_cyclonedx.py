"""The CycloneDX ML-BOM validates against the official CycloneDX 1.6 JSON schema (shipped as test data, loaded
through a local registry: no network) and carries the model card: datasets with digests, licences,
parameters, metrics; on both metadata backends."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource

from .conftest import CYCLONEDX_SCHEMA, Pipeline


def bom_validator() -> jsonschema.Draft7Validator:
    schemas = {name: json.loads((CYCLONEDX_SCHEMA / name).read_text())
               for name in ("bom-1.6.schema.json", "spdx.schema.json", "jsf-0.82.schema.json")}
    registry: Registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values()
    )
    return jsonschema.Draft7Validator(schemas["bom-1.6.schema.json"], registry=registry)


def test_the_schema_rejects_what_cyclonedx_does_not_allow() -> None:
    validator = bom_validator()
    assert validator.is_valid({"bomFormat": "CycloneDX", "specVersion": "1.6"})
    assert not validator.is_valid({"bomFormat": "CycloneDX", "specVersion": "1.6",
                                   "components": [{"type": "machine-learning-model"}]})  # no name
    assert not validator.is_valid({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
        {"type": "library", "name": "x", "licenses": [{"license": {"id": "Not-An-SPDX-Id"}}]}]})


def test_ml_bom_validates_and_carries_the_model_card(client: Any, pipeline: Pipeline) -> None:
    bom = json.loads(client.export_provenance("clf", "cyclonedx"))
    errors = sorted(bom_validator().iter_errors(bom), key=str)
    assert not errors, errors[0]
    model = bom["components"][0]
    assert model["type"] == "machine-learning-model" and model["name"] == "clf"
    assert model["hashes"] == [{"alg": "SHA-256", "content": pipeline.model.digest.hex}]
    card = model["modelCard"]
    assert card["modelParameters"]["datasets"] == sorted(
        [{"ref": str(pipeline.clean.digest)}, {"ref": str(pipeline.raw.digest)}], key=lambda d: d["ref"])
    metrics = {m["type"]: m["value"] for m in card["quantitativeAnalysis"]["performanceMetrics"]}
    assert metrics == {"accuracy": "0.93", "loss": "0.21"}
    params = {p["name"]: p["value"] for p in card["properties"]}
    assert params["mlineage:param:lr"] == "0.1" and params["mlineage:param:layers"] == "[64, 32]"
    by_ref = {c["bom-ref"]: c for c in bom["components"]}
    raw = by_ref[str(pipeline.raw.digest)]
    assert raw["type"] == "data" and raw["data"][0]["type"] == "dataset"
    assert raw["licenses"] == [{"license": {"name": "CC-BY-4.0"}}]
    assert raw["hashes"][0]["content"] == pipeline.raw.digest.hex
    assert by_ref[str(pipeline.base.digest)]["type"] == "machine-learning-model"
    depends = {d["ref"]: d["dependsOn"] for d in bom["dependencies"]}
    assert depends[str(pipeline.model.digest)] == [str(pipeline.clean.digest)]
    assert {w["workflows"][0]["uid"] for w in bom["formulation"]} == {pipeline.train_run, pipeline.prep_run}
    assert client.export_provenance("clf", "cyclonedx") == client.export_provenance("clf", "cyclonedx")


def test_a_run_has_no_bom(client: Any, pipeline: Pipeline) -> None:
    from mlineage.errors import ValidationError

    with pytest.raises(ValidationError, match="is a run"):
        client.export_provenance(f"run:{pipeline.train_run}", "cyclonedx")
