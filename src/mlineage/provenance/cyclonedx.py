"""A CycloneDX 1.6 ML-BOM from lineage records: the model as a ``machine-learning-model`` component with a
model card, each ancestor dataset as a ``data`` component with its digest, the run as a formulation.

The document is deterministic (serial number derived from the model's digest, timestamp from when the model
was recorded), so the same lineage always gives the same BOM, locally or through a server.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from .. import __version__
from ..errors import ValidationError
from ..model import Artifact, ArtifactKind
from .records import Lineage, command_of, licence_of

SPEC_VERSION = "1.6"
_DATA_TYPES = {ArtifactKind.DATASET.value: "dataset", ArtifactKind.CONFIG.value: "configuration",
               ArtifactKind.CODE.value: "source-code"}


def _hashes(artifact: Artifact) -> list[dict[str, str]]:
    return [{"alg": "SHA-256", "content": artifact.digest.hex}]


def _licences(artifact: Artifact) -> list[dict[str, Any]]:
    licence = licence_of(artifact)
    return [{"license": {"name": licence}}] if licence else []


def _property(name: str, value: Any) -> dict[str, str]:
    return {"name": name, "value": value if isinstance(value, str) else json.dumps(value, sort_keys=True)}


def _component(artifact: Artifact, kind: str) -> dict[str, Any]:
    component: dict[str, Any] = {
        "type": kind,
        "bom-ref": str(artifact.digest),
        "name": artifact.name or artifact.digest.short,
        "hashes": _hashes(artifact),
    }
    if artifact.version is not None:
        component["version"] = str(artifact.version)
    licences = _licences(artifact)
    if licences:
        component["licenses"] = licences
    properties = [_property("mlineage:kind", artifact.kind.value)]
    if artifact.size is not None:
        properties.append(_property("mlineage:size", str(artifact.size)))
    if artifact.uri:
        properties.append(_property("mlineage:uri", artifact.uri))
    component["properties"] = properties
    return component


def _data_component(artifact: Artifact) -> dict[str, Any]:
    component = _component(artifact, "data")
    component["data"] = [{"type": _DATA_TYPES.get(artifact.kind.value, "other"),
                          "name": artifact.name or str(artifact.digest)}]
    return component


def to_bom(lineage: Lineage) -> dict[str, Any]:
    """The ML-BOM of the model at the lineage's root (a run as root is refused: a BOM describes a model)."""
    root = lineage.root_node
    if not isinstance(root, Artifact):
        raise ValidationError("ref", f"{lineage.root} is a run", "pass the model it produced")
    run = lineage.producer_of(lineage.root)
    data = [a for key, a in lineage.artifacts.items()
            if key != lineage.root and a.kind.value not in (ArtifactKind.MODEL.value,)]
    models = [a for key, a in lineage.artifacts.items()
              if key != lineage.root and a.kind.value == ArtifactKind.MODEL.value]
    model = _component(root, "machine-learning-model")
    card: dict[str, Any] = {"bom-ref": f"model-card:{root.digest}"}
    datasets = [a for a in data if a.kind.value == ArtifactKind.DATASET.value]
    parameters: dict[str, Any] = {}
    if run is not None:
        parameters["task"] = run.kind.value
    if datasets:
        parameters["datasets"] = [{"ref": str(a.digest)} for a in datasets]
    if parameters:
        card["modelParameters"] = parameters
    if run is not None and run.metrics:
        card["quantitativeAnalysis"] = {"performanceMetrics": [
            {"type": key, "value": str(value)} for key, value in sorted(run.metrics.items())
        ]}
    if run is not None:
        card["properties"] = [_property(f"mlineage:param:{k}", v) for k, v in sorted(run.params.items())]
        card["properties"].append(_property("mlineage:run", run.id))
    model["modelCard"] = card
    components = [model]
    components += [_component(a, "machine-learning-model") for a in models]
    components += [_data_component(a) for a in data]
    dependencies = []
    for key, artifact in lineage.artifacts.items():
        producer = lineage.producer_of(key)
        if producer is None:
            continue
        inputs = sorted({str(a.digest) for a, _ in lineage.inputs_of(producer.id)} - {key})
        if inputs:
            dependencies.append({"ref": str(artifact.digest), "dependsOn": inputs})
    bom: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'mlineage:' + lineage.root)}",
        "version": 1,
        "metadata": {
            "tools": {"components": [{"type": "application", "name": "mlineage", "version": __version__}]},
            "component": {"type": "machine-learning-model", "bom-ref": f"bom:{root.digest}",
                          "name": root.name or root.digest.short},
        },
        "components": components,
    }
    if root.created_at:
        bom["metadata"]["timestamp"] = root.created_at
    if dependencies:
        bom["dependencies"] = dependencies
    formulas = [_formula(lineage, r.id) for r in lineage.runs.values()]
    if formulas:
        bom["formulation"] = formulas
    return bom


def _formula(lineage: Lineage, run_id: str) -> dict[str, Any]:
    run = lineage.runs[run_id]
    workflow: dict[str, Any] = {
        "bom-ref": f"run:{run.id}",
        "uid": run.id,
        "name": run.job,
        "taskTypes": [_TASK_TYPES.get(run.kind.value, "other")],
        "inputs": [{"resource": {"ref": str(a.digest)}} for a, _ in lineage.inputs_of(run_id)],
        "outputs": [{"resource": {"ref": str(a.digest)}} for a in lineage.outputs_of(run_id)],
    }
    if not workflow["inputs"]:
        del workflow["inputs"]
    if not workflow["outputs"]:
        del workflow["outputs"]
    if run.started_at:
        workflow["timeStart"] = run.started_at
    if run.ended_at:
        workflow["timeEnd"] = run.ended_at
    properties = [_property("mlineage:status", run.status.value)]
    command = command_of(run)
    if command:
        properties.append(_property("mlineage:command", command))
    workflow["properties"] = properties
    return {"bom-ref": f"formula:{run.id}", "workflows": [workflow]}


_TASK_TYPES = {"ingest": "copy", "transform": "build", "train": "build", "evaluate": "test",
               "deploy": "deploy", "aggregate": "merge", "import": "copy"}
