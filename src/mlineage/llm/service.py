"""What the Client's LLM methods do: read, build the pure records, append one batch through the pipeline.

Every write here is one ``Client.append`` of a batch (the artifact records first, then the feature's event),
so a refused batch (duplicate document ids, a merge of one parent, a cycle) writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import events as ev
from ..errors import NotFoundError, ValidationError
from ..events import NewEvent
from ..model import Artifact, ArtifactKind
from ..pathtext import path_text
from . import corpus as corpus_model
from . import events as llm_events
from . import merkle, online, special_events
from .records import records_for

if TYPE_CHECKING:
    from ..sdk.client import Client

EXTERNAL_PREFIX = "hf:"


# ---------------------------------------------------------------- corpora


def add_corpus(client: Client, source: str | os.PathLike[str], *, name: str | None = None,
               progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Record a corpus version from a folder of shards or a manifest (see ``corpus_source``)."""
    from .corpus_source import read_shard, shard_files

    path = Path(source)
    given_name, files = shard_files(path)
    shards = []
    for shard_name, shard_path in files:
        if progress is not None:
            progress(shard_name)
        shards.append((shard_name, read_shard(shard_path, shard_name)))
    built = corpus_model.build(shards)
    corpus_name = name or given_name or (path.name if path.is_dir() else path.stem)
    licences = sorted({d.licence for s in built.shards for d in s.documents if d.licence})
    sources = sorted({d.source for s in built.shards for d in s.documents if d.source})
    batch = [NewEvent(ev.ARTIFACT_RECORDED, {
        "digest": built.digest, "kind": llm_events.CORPUS.value, "name": corpus_name,
        "metadata": {"shards": len(built.shards), "documents": built.documents, "licences": licences[:100],
                     "sources": sources[:100], "path": path_text(path)}})]
    shard_of = {s.name: s for s in built.shards}
    for shard_name, shard_path in files:
        shard_event = client.artifact_event(shard_path, store_blob=False, metadata={"shard": shard_name})
        batch.append(shard_event)
        batch.append(NewEvent(ev.ARTIFACT_DERIVED, {"parent": shard_event.payload["digest"],
                                                    "child": built.digest, "role": "shard"}))
        docs = shard_of[shard_name].documents
        batch.extend(_licence_and_source(shard_event.payload["digest"],
                                         sorted({d.licence for d in docs if d.licence}),
                                         sorted({d.source for d in docs if d.source})))
    batch.append(NewEvent(llm_events.CORPUS_VERSIONED, corpus_model.to_payload(built, corpus_name)))
    batch.extend(_licence_and_source(built.digest, licences, sources))
    client.append(batch)
    artifact = client.artifact(built.digest, corpus_name)
    return {"digest": built.digest, "name": corpus_name, "version": artifact.version,
            "shards": len(built.shards), "documents": built.documents, "licences": licences}


def _licence_and_source(digest: str, licences: list[str], sources: list[str]) -> list[NewEvent]:
    """The corpus's licences (all of them apply: an AND expression) and sources, as the gates' own records,
    so licence propagation reaches every model trained on the corpus. Left out when too long to record."""
    out = []
    licence = " AND ".join(licences)
    if licence and len(licence) <= 400:
        out.append(NewEvent("LicenceRecorded", {"digest": digest, "licence": licence}))
    source = ", ".join(sources)
    if source and len(source) <= 2000:
        out.append(NewEvent("SourceRecorded", {"digest": digest, "source": source}))
    return out


def _corpus_digest(client: Client, ref: str) -> str:
    node = client.resolve(ref)
    if not isinstance(node, Artifact) or node.kind.value != llm_events.CORPUS.value:
        raise ValidationError("corpus", f"{ref} is not a corpus version",
                              "pass a corpus's name@version or digest")
    return str(node.digest)


def corpus_shards(client: Client, ref: str) -> tuple[str, list[corpus_model.Shard]]:
    """A corpus version's digest and shards, read back from the ``corpora`` projection."""
    digest = _corpus_digest(client, ref)
    records = records_for(client.store)
    shard_rows = records.rows("SELECT position, name FROM corpus_shards WHERE corpus = :c ORDER BY position",
                              {"c": digest})
    doc_rows = records.rows("SELECT shard, doc_id, digest, source, url, licence, added FROM corpus_documents "
                            "WHERE corpus = :c ORDER BY shard, position", {"c": digest})
    by_shard: dict[str, list[corpus_model.Document]] = {}
    for r in doc_rows:
        by_shard.setdefault(r[0], []).append(corpus_model.Document(*r[1:]))
    return digest, [corpus_model.Shard(r[1], tuple(by_shard.get(r[1], ()))) for r in shard_rows]


def _remote(client: Client, path: str, body: dict[str, str]) -> Any:
    """The answer of the team server's ``server/routers/llm.py`` for a remote Client, else None."""
    request = getattr(client.store, "request", None)
    return None if request is None else request("POST", path, json=body)


def prove_document(client: Client, corpus_ref: str, doc_id: str) -> dict[str, Any]:
    """The inclusion proof of a document in a corpus version, checked against the recorded digest."""
    remote = _remote(client, "/llm/corpus/prove", {"corpus": corpus_ref, "doc_id": doc_id})
    if remote is not None:
        return dict(remote)
    digest, shards = corpus_shards(client, corpus_ref)
    proof = corpus_model.prove_document(shards, doc_id)
    verified = proof.verify(bytes.fromhex(digest.removeprefix("sha256:")))
    return {"corpus": digest, **proof.to_json(), "verified": verified}


def find_document(client: Client, doc_id: str) -> list[dict[str, Any]]:
    """Every corpus version holding ``doc_id``, with the models and other artifacts downstream of it (a
    takedown request's answer)."""
    remote = _remote(client, "/llm/corpus/find", {"doc_id": doc_id})
    if remote is not None:
        return list(remote["found"])
    rows = records_for(client.store).rows(
        "SELECT corpus, shard, digest, source, licence FROM corpus_documents WHERE doc_id = :d ORDER BY seq",
        {"d": doc_id})
    found = []
    for corpus_digest, shard, digest, source, licence in rows:
        try:
            artifact = client.artifact(corpus_digest)
        except NotFoundError:
            continue  # a corpus of another namespace: not the caller's to see
        downstream = client.impact(corpus_digest)
        reached = sorted({_label(n) for n in downstream.nodes.values()
                          if isinstance(n, Artifact) and n.kind.value in _MODEL_KINDS})
        found.append({"corpus": corpus_digest, "name": artifact.name, "version": artifact.version,
                      "shard": shard, "digest": digest, "source": source, "licence": licence,
                      "models": reached})
    return found


_MODEL_KINDS = (ArtifactKind.MODEL.value, llm_events.ADAPTER_KIND.value,
                llm_events.ONLINE_CHECKPOINT_KIND.value)


def _label(a: Artifact) -> str:
    return f"{a.name}@{a.version}" if a.name else str(a.digest)


# ---------------------------------------------------------------- fine-tune and transfer chains


def parse_external(ref: str) -> tuple[str, str | None]:
    """``hf:org/name@revision`` → (hub id, revision)."""
    hub = ref.removeprefix(EXTERNAL_PREFIX)
    hub_id, _, revision = hub.partition("@")
    if not hub_id:
        raise ValidationError("base", f"{ref!r} names no hub id", "write hf:org/name@revision")
    return hub_id, revision or None


def external_event(hub_id: str, revision: str | None) -> NewEvent:
    """The record of a model known only by its hub id and revision: a node marked external, whose digest
    is the sha256 of ``hf:<id>@<revision>`` (the same id and revision always name the same node)."""
    identity = f"{EXTERNAL_PREFIX}{hub_id}@{revision or 'unpinned'}"
    digest = "sha256:" + hashlib.sha256(identity.encode()).hexdigest()
    return NewEvent(ev.ARTIFACT_RECORDED, {
        "digest": digest, "kind": ArtifactKind.MODEL.value, "name": hub_id,
        "metadata": {"external": True, "hub_id": hub_id, "revision": revision, "identity": identity}})


def _base(client: Client, ref: str, batch: list[NewEvent]) -> str:
    if ref.startswith(EXTERNAL_PREFIX):
        event = external_event(*parse_external(ref))
        if client.store.get_artifact(event.payload["digest"]) is None:
            batch.append(event)
        return str(event.payload["digest"])
    node = client.resolve(ref)
    if not isinstance(node, Artifact):
        raise ValidationError("base", f"{ref} is a run: pass a model (a digest, name@version, a path, or "
                                      "hf:org/name@revision for a model trained elsewhere)")
    return str(node.digest)


def _child(client: Client, ref: str, batch: list[NewEvent], kind: str, name: str | None) -> str:
    path = Path(ref)
    if path.exists():
        event = client.artifact_event(path, kind=kind, name=name)
        batch.append(event)
        return str(event.payload["digest"])
    node = client.resolve(ref)
    if not isinstance(node, Artifact):
        raise ValidationError("model", f"{ref} is a run: pass a model")
    return str(node.digest)


def link_model(client: Client, child: str, bases: Sequence[str], relation: str, *,
               name: str | None = None, kind: str = ArtifactKind.MODEL.value) -> dict[str, Any]:
    """Record that ``child`` (a recorded model, or a file/folder recorded now) derives from ``bases`` with a
    ``base_model_relation``; a base ``hf:org/name@revision`` is recorded as an external node."""
    batch: list[NewEvent] = []
    parents = [_base(client, b, batch) for b in bases]
    child_digest = _child(client, child, batch, kind, name)
    batch.append(NewEvent(llm_events.MODEL_LINKED,
                          {"child": child_digest, "parents": parents, "relation": relation}))
    client.append(batch)
    return {"child": child_digest, "parents": parents, "relation": relation}


def read_adapter_config(path: Path) -> dict[str, Any]:
    """The ``adapter_config.json`` at ``path`` (a file, or a folder holding one)."""
    config = path / "adapter_config.json" if path.is_dir() else path
    if not config.is_file():
        raise ValidationError("adapter", f"{path_text(config)} does not exist")
    try:
        value = json.loads(config.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError("adapter", f"{path_text(config)} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValidationError("adapter", f"{path_text(config)} is not a JSON object")
    return value


def import_peft(client: Client, path: str | os.PathLike[str], *, base: str | None = None,
                name: str | None = None) -> dict[str, Any]:
    """Record a PEFT adapter (its folder, or its ``adapter_config.json`` alone) as an ``adapter`` derived
    from its base model: the config's ``base_model_name_or_path`` + ``revision``, or ``base`` when given
    (a ref, or ``hf:org/name@revision``). No base anywhere is an error and nothing is written."""
    source = Path(path)
    config = read_adapter_config(source)
    if base is None:
        hub_id = config.get("base_model_name_or_path")
        if not isinstance(hub_id, str) or not hub_id.strip():
            raise ValidationError("base_model_name_or_path",
                                  f"{path_text(source)} names no base model; nothing was recorded",
                                  "pass --base (hf:org/name@revision, or a recorded model)")
        revision = config.get("revision")
        pinned = f"@{revision}" if isinstance(revision, str) and revision else ""
        base = f"{EXTERNAL_PREFIX}{hub_id}{pinned}"
    adapter_name = name or (source.name if source.is_dir() else source.stem)
    out = link_model(client, str(source), [base], "adapter", name=adapter_name,
                     kind=llm_events.ADAPTER_KIND.value)
    out["peft_type"] = config.get("peft_type")
    out["name"] = adapter_name
    return out


# ---------------------------------------------------------------- online learning


def prove_packet(client: Client, checkpoint_ref: str, packet: str) -> dict[str, Any]:
    """The inclusion proof of a packet digest in an online checkpoint, checked against its digest."""
    remote = _remote(client, "/llm/online/prove", {"checkpoint": checkpoint_ref, "packet": packet})
    if remote is not None:
        return dict(remote)
    node = client.resolve(checkpoint_ref)
    if not isinstance(node, Artifact) or node.kind.value != llm_events.ONLINE_CHECKPOINT_KIND.value:
        raise ValidationError("checkpoint", f"{checkpoint_ref} is not an online checkpoint")
    digest = str(node.digest)
    rows = records_for(client.store).rows("SELECT model, number, leaves, tree FROM online_checkpoints "
                                          "WHERE digest = :d", {"d": digest})
    if not rows:
        raise NotFoundError(f"checkpoint {digest} has no recorded packets (run `mlineage rebuild`?)")
    model, number, leaves, tree = rows[0]
    packet_raw = online.packet_digest(packet)
    proof = online.prove_from_tree(leaves, tree, packet_raw)
    expected = bytes.fromhex(digest.removeprefix("sha256:"))
    verified = proof.verify() and proof.root == expected and proof.leaf == merkle.leaf_hash(packet_raw)
    return {"checkpoint": digest, "model": model, "number": number, "packet": "sha256:" + packet_raw.hex(),
            **proof.to_json(), "verified": verified}


# ---------------------------------------------------------------- documents as incident refs

DOCUMENT_PREFIX = "doc:"


def document_artifact(client: Client, ref: str) -> str:
    """``doc:ID`` → the digest of document ID as a node of its own (kind ``corpus_document``)
    ``DERIVED_FROM`` into every corpus version holding it, recorded now if needed, so that an incident on a
    bad document reaches what each of those corpora reached (indexes, fine-tunes, endpoints). The same id with
    different content in two corpora is two documents: both are refused as ambiguous."""
    doc_id = ref.removeprefix(DOCUMENT_PREFIX)
    remote = _remote(client, "/llm/corpus/find", {"doc_id": doc_id})  # a team server's look-up
    if remote is not None:
        rows = [(f["corpus"], f["digest"], f["source"], f["licence"]) for f in remote["found"]]
    else:
        rows = records_for(client.store).rows(
            "SELECT corpus, digest, source, licence FROM corpus_documents WHERE doc_id = :d ORDER BY seq",
            {"d": doc_id})
    if not rows:
        raise NotFoundError(f"no recorded corpus version holds document {doc_id!r} "
                            "(`mlineage corpus find ID` looks one up)")
    digests = sorted({r[1] for r in rows})
    if len(digests) > 1:
        raise ValidationError("document", f"document {doc_id!r} has {len(digests)} different contents in the "
                                          "recorded corpora", "name the corpus's shard or the corpus instead")
    digest = "sha256:" + str(digests[0])
    batch = [NewEvent(ev.ARTIFACT_RECORDED, {
        "digest": digest, "kind": special_events.CORPUS_DOCUMENT.value, "name": doc_id,
        "metadata": {"source": rows[0][2], "licence": rows[0][3]}})]
    batch += [NewEvent(ev.ARTIFACT_DERIVED, {"parent": digest, "child": corpus, "role": "document"})
              for corpus in dict.fromkeys(r[0] for r in rows)]
    client.append(batch)
    return digest
