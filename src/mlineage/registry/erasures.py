"""Erasure requests (a person's data must go): what ``mlineage erase REF`` and ``mlineage erasure ...`` do.

An erasure removes the artifact's bytes (its blob, and a directory's member blobs) and the payloads of the
events that hold its content (a dataset profile of it, and any event the requester names), each payload
authorised by a ``PayloadErased`` event appended first (``mlineage.erasure``: ``verify`` then passes and lists
what was erased, when and by whom). It records an ``ErasureRequested`` event with the *propagation report*'s
affected models, and each affected model then gets a recorded decision (``retrain``, ``unlearn`` or
``accept`` with a reason); ``ErasureClosed`` is refused until every one has one, as an incident is tracked to
closure. The lineage itself (which artifact fed which run) stays: it holds digests, not the data, and the
report needs it.

The bytes are removed where the database is: by the embedded store's process, or by the team server
(``POST /api/v1/erasures``, an admin's act like every ``PayloadErased``)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from ..erasure import PAYLOAD_ERASED, erasure_event_payload
from ..errors import ConfigError, NotFoundError, ValidationError
from ..events import NewEvent
from ..model import Artifact, Digest
from .events import ERASURE_CLOSED, ERASURE_DECIDED, ERASURE_REQUESTED
from .records import records_for

if TYPE_CHECKING:
    from ..sdk.client import Client

CONTENT_EVENTS: dict[str, tuple[str, ...]] = {"DatasetProfiled": ("profile",)}
"""Event types that hold values of the artifact they reference, and the payload fields naming the blobs that
hold them (a profile's top values, minimum and maximum): both are erased with the artifact. Other events
reference it by digest only."""

ERASABLE = frozenset(CONTENT_EVENTS) | {"ParamsLogged", "MetricsLogged"}
"""Event types whose payload ``--event SEQ`` may erase: values, not structure. Erasing a run's start, an
artifact's record or a lineage edge would leave later events pointing at nothing after a rebuild."""

MODEL_KINDS = frozenset({"model", "adapter", "online_checkpoint"})
INDEX_KINDS = frozenset({"corpus", "index"})


def propagation(client: Client, artifact: Artifact) -> dict[str, Any]:
    """Everything downstream of ``artifact``: dataset versions and other data, models (registry versions
    ``NAME@N`` where registered, digests otherwise), retrieval indexes and corpora, endpoints that served an
    affected model (now or before), and how many runs."""
    result = client.impact(artifact)
    nodes = result.nodes
    digests: set[str] = {str(artifact.digest)}
    data: list[dict[str, Any]] = []
    indexes: list[dict[str, Any]] = []
    model_digests: list[str] = []
    runs = 0
    for node in nodes.values():
        if not isinstance(node, Artifact):
            runs += 1
            continue
        digest = str(node.digest)
        if digest == str(artifact.digest) or digest in digests:
            continue
        digests.add(digest)
        row = {"digest": digest, "label": node.label, "kind": node.kind.value}
        if node.kind.value in MODEL_KINDS:
            model_digests.append(digest)
        elif node.kind.value in INDEX_KINDS:
            indexes.append(row)
        else:
            data.append(row)
    everything = records_for(client.store).everything()
    registered = [v for v in everything["versions"] if v["digest"] in digests]
    named = {v["digest"] for v in registered}
    models = [{"model": f"{v['name']}@{v['version']}", "digest": v["digest"]} for v in registered]
    models += [{"model": d, "digest": d} for d in model_digests if d not in named]
    latest: dict[str, int] = {}
    for d in everything["deployments"]:
        latest[d["endpoint"]] = d["seq"]
    endpoints = [{"endpoint": d["endpoint"], "env": d["env"], "model": f"{d['name']}@{d['version']}",
                  "ts": d["ts"], "now": latest[d["endpoint"]] == d["seq"]}
                 for d in everything["deployments"] if d["digest"] in digests]
    return {"datasets": data, "models": models, "indexes": indexes, "endpoints": endpoints, "runs": runs}


def _content_events(client: Client, digest: str, extra: list[int]) -> list[Any]:
    from ..catalogue import SPECS

    wanted = set(extra)
    found = []
    for event in client.store.iter_events():
        if event.payload is None:
            continue
        if event.seq in wanted:
            found.append(event)
        elif event.type in CONTENT_EVENTS:
            refs = SPECS[event.type].references(event.payload)
            if ("artifact", digest) in set(refs):
                found.append(event)
    for e in found:
        if e.seq in wanted and e.type not in ERASABLE:
            raise ValidationError("event", f"event {e.seq} is a {e.type}: its payload is the ledger's "
                                  "structure, not a value",
                                  "erase a " + ", ".join(sorted(ERASABLE)) + " payload")
    missing = wanted - {e.seq for e in found}
    if missing:
        raise NotFoundError(f"no event with a payload at seq {', '.join(map(str, sorted(missing)))}")
    return found


def _blobs_of(client: Client, artifact: Artifact) -> list[str]:
    """The artifact's blob, and a directory manifest's member blobs."""
    from ..hashing import parse_manifest

    out = [str(artifact.digest)]
    if artifact.media_type == "application/vnd.mlineage.manifest+json" and client.blobs.has(artifact.digest):
        try:
            with client.blobs.open(artifact.digest) as handle:
                out += [str(e.digest) for e in parse_manifest(handle.read())]
        except (OSError, ValidationError):
            pass  # a damaged manifest: its own blob only (fsck reports it)
    return out


def erase(client: Client, ref: str, *, reason: str, authorised_by: str | None = None,
          ticket: str | None = None, events: list[int] | None = None, actor: str | None = None
          ) -> dict[str, Any]:
    """Erase the data of ``ref`` (see the module docstring); returns the erasure with its propagation report.
    Against a team server the server does it (an admin token); ``actor``: who asked (the server's caller)."""
    if not reason:
        raise ValidationError("reason", "an erasure needs a reason", "pass --reason")
    if hasattr(client.store, "request"):  # a team server: the bytes live there
        client.store.flush(quiet=True)  # type: ignore[attr-defined]
        body = {"ref": ref, "reason": reason, "authorised_by": authorised_by, "ticket": ticket,
                "events": events or []}
        return dict(client.store.request("POST", "/erasures", json=body))
    if not hasattr(client.store, "erase_payloads"):
        raise ConfigError(f"{client.store.uri} cannot erase payloads")
    node = client.resolve(ref)
    if not isinstance(node, Artifact):
        raise ValidationError("ref", f"{ref} is a run: name the artifact that holds the data")
    digest = str(node.digest)
    from ..capture.basic import actor as local_actor

    who = authorised_by or actor or local_actor()
    report = propagation(client, node)
    targets = _content_events(client, digest, list(events or []))
    blobs = _blobs_of(client, node) + [str(e.payload[f]) for e in targets
                                       for f in CONTENT_EVENTS.get(e.type, ()) if e.payload.get(f)]
    erasure_id = "era-" + uuid.uuid4().hex[:12]
    batch = [NewEvent(PAYLOAD_ERASED,
                      erasure_event_payload(e.seq, e.id, e.payload_sha256, reason, who, ticket), actor=actor)
             for e in targets]
    batch.append(NewEvent(ERASURE_REQUESTED, {
        "erasure_id": erasure_id, "digest": digest, "reason": reason, "authorised_by": who,
        "erased_seqs": [e.seq for e in targets], "blobs": blobs,
        "affected": [m["model"] for m in report["models"]]}, actor=actor))
    client.append(batch)
    if targets:
        client.store.erase_payloads([e.seq for e in targets])
        client.store.rebuild()  # no projection keeps a copy of what went
    removed = []
    remove = getattr(client.blobs, "remove", None)
    for b in blobs:
        if remove is not None and client.blobs.has(Digest.parse(b)):
            remove(Digest.parse(b))
            removed.append(b)
    client.write_checkpoint()
    return dict(erasure(client, erasure_id), report=report, blobs_removed=removed)


def erasure(client: Client, erasure_id: str) -> dict[str, Any]:
    """An erasure: what it removed, its affected models with their decisions, and its resolution."""
    found = records_for(client.store).erasure(erasure_id)
    if found is None:
        raise NotFoundError(f"no erasure {erasure_id!r} (`mlineage erase REF --reason ...` records one)")
    decided = {d["model"]: d for d in found["decisions"]}
    found["open"] = [m for m in found["affected"] if m not in decided]
    return found


def decide(client: Client, erasure_id: str, model: str, decision: str, reason: str = "") -> dict[str, Any]:
    """Record what happens to an affected model: ``retrain`` (without the data), ``unlearn``, or ``accept``
    (keep it as is: needs a reason)."""
    found = erasure(client, erasure_id)
    if model not in found["affected"]:
        raise NotFoundError(f"{model} is not a model erasure {erasure_id} affects: "
                            + (", ".join(found["affected"]) or "it affects none"))
    client.append([NewEvent(ERASURE_DECIDED, {"erasure_id": erasure_id, "model": model, "decision": decision,
                                              "reason": reason})])
    _flush(client)
    return erasure(client, erasure_id)


def close(client: Client, erasure_id: str, resolution: str) -> dict[str, Any]:
    """Close an erasure once every affected model has a decision."""
    found = erasure(client, erasure_id)
    if found["open"]:
        raise ValidationError("erasure_id", f"erasure {erasure_id} cannot close: no decision yet for "
                              + ", ".join(found["open"]),
                              "`mlineage erasure decide` each affected model first")
    client.append([NewEvent(ERASURE_CLOSED, {"erasure_id": erasure_id, "resolution": resolution})])
    _flush(client)
    return erasure(client, erasure_id)


def _flush(client: Client) -> None:
    flush = getattr(client.store, "flush", None)
    if flush is not None:
        flush(quiet=True)
    client.write_checkpoint()
