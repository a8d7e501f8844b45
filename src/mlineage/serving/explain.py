"""``mlineage explain-answer TRACE_ID``: from an answer to the documents it was built from, and licences.

The walk: the trace (``serving_traces``) → the model version that answered (registry name@N and digest) →
the retrieved chunks (ids, content hashes, scores) → the index version (an artifact, by digest) → up its
lineage to the corpus versions and the embedding model it was built from → each chunk's source document in
those corpus versions (``corpus_documents``), with its Merkle inclusion proof checked against the corpus
digest → licences: each document's own, and the ``LicenceRecorded`` facts of the model, the embedding model,
the index and the corpora.

What the trace carries is always shown; what the graph does not (yet) hold is listed under ``gaps`` instead
of failing. Nothing here knows how an index version is recorded: any artifact whose ancestors include corpus
versions and models is read the same way (an ``embedding_index`` artifact DERIVED_FROM its corpus and its
embedding model, or one PRODUCED by a build run that USED them). A feature that records chunk → document maps
plugs in with ``register_chunk_resolver``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import MlineageError
from ..model import Artifact

if TYPE_CHECKING:
    from ..sdk.client import Client

ChunkResolver = Callable[["Client", str, Sequence[str]], dict[str, dict[str, Any]]]
"""``(client, index_digest, chunk_ids) -> {chunk_id: {"document_id": ..., "content_hash": ..., "corpus":
digest}}`` for the chunks it knows (others left out)."""

_CHUNK_RESOLVERS: list[ChunkResolver] = []
_MODEL_KINDS = ("model", "adapter")


def register_chunk_resolver(resolver: ChunkResolver) -> ChunkResolver:
    """Let an index feature say which document (and content hash) each chunk id of an index version has."""
    if resolver not in _CHUNK_RESOLVERS:
        _CHUNK_RESOLVERS.append(resolver)
    return resolver


def _label(a: Artifact) -> str:
    return f"{a.name}@{a.version}" if a.name and a.version else (a.name or a.digest.short)


def _node(client: Client, digest: str | None) -> Artifact | None:
    if not digest:
        return None
    try:
        return client.store.get_artifact(digest)
    except MlineageError:
        return None


def _ancestry(client: Client, index: Artifact) -> tuple[list[Artifact], list[Artifact]]:
    """The corpus versions and the nearest models among the index version's ancestors."""
    result = client.trace(str(index.digest))
    nodes = result.nodes
    corpora: list[Artifact] = []
    models: list[tuple[int, Artifact]] = []
    for node_id, depth in zip(result.ids.tolist(), result.depths.tolist(), strict=True):
        node = nodes.get(node_id)
        if not isinstance(node, Artifact) or node.digest == index.digest:
            continue
        kind = node.kind.value
        if kind == "corpus":
            corpora.append(node)
        elif kind in _MODEL_KINDS:
            models.append((depth, node))
    nearest = min((d for d, _ in models), default=None)
    return corpora, [m for d, m in models if d == nearest]


def _documents(client: Client, doc_ids: set[str], corpora: list[str]) -> dict[str, list[Any]]:
    """doc id → its rows in corpus_documents (only in ``corpora`` when the index's corpora are known)."""
    from ..llm.records import records_for

    if not doc_ids:
        return {}
    records = records_for(client.store)
    out: dict[str, list[Any]] = {}
    ids = sorted(doc_ids)
    for start in range(0, len(ids), 200):
        chunk = ids[start : start + 200]
        params = {f"d{i}": d for i, d in enumerate(chunk)}
        sql = (
            "SELECT doc_id, corpus, shard, digest, source, url, licence, added, seq FROM corpus_documents "
            f"WHERE doc_id IN ({', '.join(':' + k for k in params)})"
        )
        if corpora:
            cparams = {f"c{i}": c for i, c in enumerate(corpora)}
            sql += f" AND corpus IN ({', '.join(':' + k for k in cparams)})"
            params.update(cparams)
        for row in records.rows(sql + " ORDER BY seq DESC", params):
            out.setdefault(row[0], []).append(row)
    return out


def _proofs(client: Client) -> Callable[[str, str], bool | None]:
    from ..llm import corpus as corpus_model
    from ..llm.service import corpus_shards

    shards: dict[str, Any] = {}

    def verified(corpus: str, doc_id: str) -> bool | None:
        if corpus not in shards:
            try:
                shards[corpus] = corpus_shards(client, corpus)[1]
            except MlineageError:
                shards[corpus] = None
        if shards[corpus] is None:
            return None
        proof = corpus_model.prove_document(shards[corpus], doc_id)
        return proof.verify(bytes.fromhex(corpus.removeprefix("sha256:")))

    return verified


def explain_answer(client: Client, trace_id: str) -> dict[str, Any]:
    """The whole walk for one trace (see the module docstring)."""
    from .service import _remote, get_trace

    remote = _remote(client, "POST", "/serving/explain", json={"trace_id": trace_id})
    if remote is not None:
        return dict(remote)
    trace = get_trace(client, trace_id)
    gaps: list[str] = []
    facts = client.gate_facts()

    model_node = _node(client, trace["model_digest"])
    model = {
        "ref": trace["model"],
        "name": trace["model_name"],
        "version": trace["model_version"],
        "digest": trace["model_digest"],
        "resolved": trace["resolved"],
        "label": (
            f"{trace['model_name']}@{trace['model_version']}"
            if trace["model_version"]
            else _label(model_node)
            if model_node
            else None
        ),
    }
    if trace["model_digest"] is None:
        gaps.append(f"the model {trace['model'] or '(none given)'} did not resolve to a recorded version")

    index_node = _node(client, trace["index_digest"])
    index: dict[str, Any] = {
        "ref": trace["index"],
        "digest": trace["index_digest"],
        "label": None,
        "kind": None,
        "corpora": [],
        "embedding_models": [],
    }
    corpora: list[Artifact] = []
    if index_node is not None:
        corpora, embedders = _ancestry(client, index_node)
        index.update(
            label=_label(index_node),
            kind=index_node.kind.value,
            corpora=[{"digest": str(c.digest), "label": _label(c)} for c in corpora],
            embedding_models=[{"digest": str(m.digest), "label": _label(m)} for m in embedders],
        )
        if not corpora:
            gaps.append(f"the index {_label(index_node)} has no corpus version among its ancestors")
        if not embedders:
            gaps.append(f"the index {_label(index_node)} has no embedding model among its ancestors")
    elif trace["index"] or trace["index_digest"]:
        gaps.append(
            f"the index {trace['index'] or trace['index_digest']} is not a recorded artifact: its "
            "corpus and embedding model are unknown"
        )

    prompt_node = _node(client, trace["prompt_digest"])
    prompt = {
        "ref": trace["prompt"],
        "digest": trace["prompt_digest"],
        "label": _label(prompt_node) if prompt_node else None,
    }

    chunks = trace["retrieved"]
    known: dict[str, dict[str, Any]] = {}
    if index_node is not None:
        for resolver in _CHUNK_RESOLVERS:
            try:
                known.update(resolver(client, str(index_node.digest), [c["chunk_id"] for c in chunks]))
            except MlineageError as exc:
                gaps.append(f"chunk look-up failed: {exc}")
    corpus_digests = [str(c.digest) for c in corpora]
    wanted = {
        c["document_id"] or known.get(c["chunk_id"], {}).get("document_id") or c["chunk_id"] for c in chunks
    }
    docs = _documents(client, {d for d in wanted if d}, corpus_digests)
    verified = _proofs(client)
    out_chunks = []
    for c in chunks:
        info = known.get(c["chunk_id"], {})
        doc_id = c["document_id"] or info.get("document_id")
        rows = docs.get(doc_id or "") or ([] if doc_id else docs.get(c["chunk_id"]) or [])
        if doc_id is None and rows:
            doc_id = c["chunk_id"]  # the chunk is a whole document
        rows = [r for r in rows if _node(client, r[1]) is not None]  # a namespace sees its own corpora
        item: dict[str, Any] = dict(c, document_id=doc_id, documents=[])
        if info.get("content_hash") and c["content_hash"]:
            item["content_match"] = info["content_hash"] == c["content_hash"]
        for row in rows:
            corpus = _node(client, row[1])
            item["documents"].append(
                {
                    "corpus": row[1],
                    "corpus_label": _label(corpus) if corpus else None,
                    "shard": row[2],
                    "digest": "sha256:" + row[3],
                    "source": row[4],
                    "url": row[5],
                    "licence": row[6],
                    "added": row[7],
                    "proof_verified": verified(row[1], row[0]),
                }
            )
        if not item["documents"]:
            gaps.append(
                f"chunk {c['chunk_id']}: "
                + (
                    f"document {doc_id} is in no recorded corpus version"
                    + (" of the index" if corpus_digests else "")
                    if doc_id
                    else "no source document id is known"
                )
            )
        out_chunks.append(item)

    licences: dict[str, str] = {}
    subjects = {
        trace["model_digest"]: "model",
        trace["index_digest"]: "index",
        **{c["digest"]: "corpus " + c["label"] for c in index["corpora"]},
        **{m["digest"]: "embedding model " + m["label"] for m in index["embedding_models"]},
    }
    recorded = facts.licences([d for d in subjects if d])
    for digest, licence in sorted(recorded.items()):
        licences[subjects[digest] if subjects[digest] != "model" else f"model {model['label'] or digest}"] = (
            licence
        )
    for item in out_chunks:
        for d in item["documents"]:
            if d["licence"]:
                licences[f"document {item['document_id']}"] = d["licence"]
    return {
        "trace": {
            k: trace[k] for k in ("trace_id", "ts", "endpoint", "seq", "actor", "facts", "inputs_digest")
        },
        "model": model,
        "prompt": prompt,
        "index": index,
        "chunks": out_chunks,
        "licences": licences,
        "gaps": gaps,
    }


def answers_citing(client: Client, document_id: str, limit: int = 100) -> list[str]:
    """The trace ids whose answers retrieved a chunk of ``document_id`` (newest first)."""
    from .records import records_for

    return records_for(client.store).citing(document_id, limit)
