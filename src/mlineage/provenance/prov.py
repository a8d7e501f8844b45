"""W3C PROV from lineage records, through the ``prov`` library (PROV-JSON, PROV-N, PROV-JSONLD, and PROV-O
as RDF Turtle through rdflib).

Artifacts are entities named by their digest (``sha256:<hex>`` with the prefix ``sha256`` bound to
``urn:sha256:``, so the PROV identifier reads as mlineage's own), runs are activities (``run:<id>``), the
person or host that ran each run is an agent. USED edges become ``used`` (with the input's role),
PRODUCED edges ``wasGeneratedBy``, DERIVED_FROM edges ``wasDerivedFrom``; each output of a run is also
``wasDerivedFrom`` each of its inputs through that activity, so a PROV reader that knows only derivations
still sees the chain. Run-to-run edges (a sweep containing its trials) become ``wasInformedBy``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from ..errors import ValidationError
from .records import Lineage, actor_of, command_of

NAMESPACES = {
    "sha256": "urn:sha256:",
    "run": "urn:mlineage:run:",
    "actor": "urn:mlineage:actor:",
    "param": "urn:mlineage:param:",
    "metric": "urn:mlineage:metric:",
    "mlineage": "https://github.com/mlineage/mlineage/ns#",
}
FORMATS = {"prov-json": "json", "prov-n": "provn", "prov-jsonld": "jsonld", "prov-o": "rdf"}


def _local(text: str) -> str:
    """A QName local part PROV-N can write (run ids and actor names may hold other characters)."""
    return quote(text, safe="-._~@")


def _run_id(run_id: str) -> str:
    return f"run:{_local(run_id)}"


def _literal(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True)
    return value


def to_document(lineage: Lineage) -> Any:
    """A ``prov.model.ProvDocument`` for the lineage (deterministic: same records, same document)."""
    from prov.model import PROV, ProvDocument

    doc = ProvDocument()
    for prefix, uri in NAMESPACES.items():
        doc.add_namespace(prefix, uri)
    for digest, artifact in lineage.artifacts.items():
        attributes: dict[str, Any] = {"mlineage:kind": artifact.kind.value, "mlineage:digest": digest}
        if artifact.name:
            attributes["prov:label"] = artifact.label
            attributes["mlineage:name"] = artifact.name
        if artifact.version is not None:
            attributes["mlineage:version"] = artifact.version
        if artifact.size is not None:
            attributes["mlineage:size"] = artifact.size
        if artifact.uri:
            attributes["prov:location"] = artifact.uri
        doc.entity(digest, attributes)
    agents: set[str] = set()
    for run in lineage.runs.values():
        attributes = {"prov:label": run.job, "mlineage:kind": run.kind.value,
                      "mlineage:status": run.status.value}
        attributes.update({f"param:{_local(k)}": _literal(v) for k, v in sorted(run.params.items())})
        attributes.update({f"metric:{_local(k)}": _literal(v) for k, v in sorted(run.metrics.items())})
        command = command_of(run)
        if command:
            attributes["mlineage:command"] = json.dumps(command)
        activity = doc.activity(_run_id(run.id), run.started_at, run.ended_at, attributes)
        actor = actor_of(run)
        if actor:
            agent_id = f"actor:{_local(actor)}"
            if agent_id not in agents:
                agents.add(agent_id)
                doc.agent(agent_id, {"prov:type": PROV["Person"], "prov:label": actor})
            doc.wasAssociatedWith(activity, agent_id)
    for link in lineage.links:
        parent_run, child_run = link.parent.startswith("run:"), link.child.startswith("run:")
        if link.type == "USED" and child_run:
            extra = {"prov:role": link.role} if link.role else None
            doc.used(_run_id(link.child[4:]), link.parent, other_attributes=extra)
        elif link.type == "PRODUCED" and parent_run:
            doc.wasGeneratedBy(link.child, _run_id(link.parent[4:]))
        elif not parent_run and not child_run:
            doc.wasDerivedFrom(link.child, link.parent, other_attributes={"mlineage:edge": link.type})
        elif parent_run and child_run:
            doc.wasInformedBy(_run_id(link.child[4:]), _run_id(link.parent[4:]),
                              other_attributes={"mlineage:edge": link.type})
    for run in lineage.runs.values():
        inputs = [a for a, role in lineage.inputs_of(run.id) if role not in ("code", "environment")]
        for output in lineage.outputs_of(run.id):
            for source in inputs:
                doc.wasDerivedFrom(str(output.digest), str(source.digest), _run_id(run.id))
    return doc


def serialize(lineage: Lineage, fmt: str) -> str:
    """The document in one of ``FORMATS`` (``prov-json``, ``prov-n``, ``prov-jsonld``, ``prov-o``)."""
    if fmt not in FORMATS:
        raise ValidationError("format", f"{fmt!r} is not a PROV format", f"use one of: {', '.join(FORMATS)}")
    doc = to_document(lineage)
    if fmt == "prov-n":
        return str(doc.get_provn()) + "\n"
    if fmt == "prov-o":
        import warnings

        with warnings.catch_warnings():  # prov's RDF serializer uses an rdflib name rdflib now deprecates
            warnings.simplefilter("ignore", DeprecationWarning)
            return str(doc.serialize(format="rdf", rdf_format="turtle")).rstrip("\n") + "\n"
    text = doc.serialize(format=FORMATS[fmt], indent=2)
    return str(text) + "\n"
