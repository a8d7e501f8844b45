"""What the Client's provenance methods do: read one trace, map it to a document, sign what is asked.

Everything here goes through the Client's query service, so a remote client (``MLINEAGE_URI=http://...``)
exports exactly what the server's store holds, with no endpoint of its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ..model import Artifact
from . import dsse, slsa
from .records import Lineage, from_trace

if TYPE_CHECKING:
    from ..sdk.client import Client

EXPORT_FORMATS = ("prov-json", "prov-n", "prov-jsonld", "prov-o", "cyclonedx", "openlineage")


def lineage(client: Client, ref: str | Artifact, as_of: str | int | None = None) -> Lineage:
    result = client.trace(ref, as_of=as_of)
    nodes = result.nodes
    edges = [(nodes[p], nodes[c], t, r) for p, c, t, r in result.edges]
    return from_trace(nodes[result.root], [n for i, n in nodes.items() if i != result.root], edges)


def export(client: Client, ref: str, fmt: str, as_of: str | int | None = None) -> str:
    """The document for ``ref``'s ancestry in ``fmt`` (one of ``EXPORT_FORMATS``), as text."""
    if fmt not in EXPORT_FORMATS:
        raise ValidationError("format", f"{fmt!r} is not an export format",
                              f"use one of: {', '.join(EXPORT_FORMATS)}")
    records = lineage(client, ref, as_of)
    if fmt == "cyclonedx":
        from .cyclonedx import to_bom

        return json.dumps(to_bom(records), indent=2, ensure_ascii=False) + "\n"
    if fmt == "openlineage":
        from ..interop.openlineage import run_to_events

        events = []
        for run in records.runs.values():
            inputs = [a for a, _ in records.inputs_of(run.id)]
            events += run_to_events(run, inputs, records.outputs_of(run.id))
        return "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in events)
    from .prov import serialize

    return serialize(records, fmt)


def attest(client: Client, model: str, private_key: Any) -> dict[str, Any]:
    """A DSSE envelope over the in-toto Statement for ``model`` (a file path or a ref) with its SLSA
    provenance: the producing run's command and params, its inputs with their digests."""
    path = Path(model)
    if path.is_file():
        from ..hashing import hash_file

        digest = hash_file(path)[0]
        artifact = client.store.get_artifact(str(digest))
        if artifact is None:
            raise ValidationError(model, f"its content ({digest.short}) was never recorded",
                                  "record the run that produced it, then attest")
        name = path.name
    else:
        node = client.resolve(model)
        if not isinstance(node, Artifact):
            raise ValidationError(model, "is a run", "attest the model file it produced")
        artifact = node
        recorded = artifact.metadata.get("path")  # the file's name when recorded, else the label
        name = Path(str(recorded)).name if recorded else (artifact.name or str(artifact.digest))
    records = lineage(client, artifact)
    run = records.producer_of(str(artifact.digest))
    inputs = records.inputs_of(run.id) if run is not None else []
    statement = slsa.statement(name, artifact.digest.hex, run, inputs)
    body = json.dumps(statement, indent=2, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return dsse.sign(body, private_key)
