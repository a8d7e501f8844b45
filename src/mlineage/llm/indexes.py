"""Building and recording an embedding index version through the Client (the I/O half of ``chunking``).

``build_index`` reads a corpus's shards, checks they are the recorded corpus version, chunks and embeds the
documents, writes them to the vector store (LanceDB), and appends one batch: an ``index_build`` run that used
the corpus and the embedding model and produced the index, the index ``DERIVED_FROM`` both, and the
``EmbeddingIndexVersioned`` record. A refused batch writes nothing to the ledger.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import events as ev
from ..errors import MlineageError, NotFoundError, ValidationError
from ..events import NewEvent
from ..model import Artifact, ArtifactKind
from ..pathtext import path_text
from . import chunking
from . import corpus as corpus_model
from . import special_events as se
from .embedders import Embedder
from .records import records_for

if TYPE_CHECKING:
    from ..sdk.client import Client


def _read_corpus(source: Path) -> tuple[corpus_model.Corpus, list[tuple[str, str]]]:
    """The corpus the shards at ``source`` make, and every document's (id, text) in corpus order."""
    from .corpus_source import read_shard_texts, shard_files

    _, files = shard_files(source)
    shards: list[tuple[str, list[corpus_model.Document]]] = []
    texts: list[tuple[str, str]] = []
    for shard_name, shard_path in sorted(files):
        rows = read_shard_texts(shard_path, shard_name)
        shards.append((shard_name, [d for d, _ in rows]))
        texts.extend((d.id, t) for d, t in rows)
    return corpus_model.build(shards), texts


def _model_record(client: Client, embedder: Embedder) -> NewEvent:
    path, metadata = embedder.model_path(), {"role": "embedding model", **embedder.metadata()}
    if path is not None:
        return client.artifact_event(path, kind=ArtifactKind.MODEL, name=embedder.name, store_blob=False,
                                     metadata=metadata)
    return NewEvent(ev.ARTIFACT_RECORDED, {"digest": embedder.digest(), "kind": ArtifactKind.MODEL.value,
                                           "name": embedder.name, "metadata": metadata})


def build_index(client: Client, source: str | os.PathLike[str], *, embedder: Embedder,
                chunker: chunking.ChunkerConfig, name: str, corpus: str | None = None,
                params: Mapping[str, Any] | None = None, store_uri: str | None = None,
                table: str | None = None, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Build and record an index version of the corpus at ``source`` (see the module docstring). ``corpus``
    names the recorded corpus version the shards must still be; without it the shards' corpus is recorded
    now if it was not. ``store_uri`` (a LanceDB folder) receives the vectors; without it only the lineage
    is recorded."""
    from . import service

    say = progress or (lambda _: None)
    path = Path(source)
    built, texts = _read_corpus(path)
    if corpus is not None:
        node = client.resolve(corpus)
        if not isinstance(node, Artifact) or node.kind.value != "corpus":
            raise ValidationError("corpus", f"{corpus} is not a corpus version")
        if str(node.digest) != built.digest:
            raise ValidationError("corpus", f"the shards at {path_text(path)} are not {corpus} any more "
                                            f"(their Merkle root is {built.digest}); nothing was recorded",
                                  "record them as a new version with `mlineage corpus add`")
    elif client.store.get_artifact(built.digest) is None:
        say("recording the corpus version")
        service.add_corpus(client, path)
    say(f"chunking {len(texts)} documents")
    chunks = [c for doc_id, text in texts for c in chunking.chunk_document(doc_id, text, chunker)]
    if not chunks:
        raise ValidationError("corpus", "no document has text to index (a 'text' field)")
    model_event = _model_record(client, embedder)
    model_digest = str(model_event.payload["digest"])
    index_params = dict(params or {})
    rows = [c.row() for c in chunks]
    digest = chunking.index_digest(built.digest, model_digest, chunker, index_params, rows)
    store: dict[str, Any] = {}
    if store_uri is not None:
        from .vectorstore import write_lancedb

        say(f"embedding {len(chunks)} chunks with {embedder.name}")
        vectors = embedder.embed([c.text for c in chunks])
        say(f"writing {store_uri}")
        store = write_lancedb(store_uri, table or name, chunks, vectors, digest)
    store["dimension"] = embedder.dimension
    run_id = uuid.uuid4().hex
    run_params = {"chunker": json.dumps(chunker.to_json(), sort_keys=True), "embedding_model": embedder.name,
                  "index": name, **{f"param.{k}": str(v) for k, v in index_params.items()}}
    if store.get("table"):
        run_params["store"] = f"{store['store']}:{store['table']}@{store['version']}"
    client.append([
        model_event,
        NewEvent(ev.RUN_STARTED, {"run_id": run_id, "job": f"index {name}", "kind": se.INDEX_BUILD.value,
                                  "params": run_params}),
        NewEvent(ev.ARTIFACT_USED, {"run_id": run_id, "digest": built.digest, "role": "corpus"}),
        NewEvent(ev.ARTIFACT_USED, {"run_id": run_id, "digest": model_digest, "role": "embedding_model"}),
        NewEvent(ev.ARTIFACT_RECORDED, {"digest": digest, "kind": se.EMBEDDING_INDEX.value, "name": name,
                                        "metadata": {"chunks": len(chunks), "chunker": chunker.to_json(),
                                                     "params": index_params, "store": store}}),
        NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": run_id, "digest": digest, "role": "index"}),
        NewEvent(ev.ARTIFACT_DERIVED, {"parent": built.digest, "child": digest, "role": "corpus"}),
        NewEvent(ev.ARTIFACT_DERIVED, {"parent": model_digest, "child": digest, "role": "embedding_model"}),
        NewEvent(se.INDEX_VERSIONED, {"digest": digest, "name": name, "corpus": built.digest,
                                      "embedding_model": model_digest, "chunker": chunker.to_json(),
                                      "params": index_params, "chunks": rows, "store": store,
                                      "run_id": run_id}),
        NewEvent(ev.RUN_ENDED, {"run_id": run_id, "status": "completed"}),
    ])
    client.write_checkpoint()
    artifact = client.artifact(digest, name)
    return {"digest": digest, "name": name, "version": artifact.version, "corpus": built.digest,
            "embedding_model": model_digest, "embedder": embedder.name, "chunker": chunker.to_json(),
            "params": index_params, "chunks": len(chunks), "documents": len(texts), "store": store,
            "run_id": run_id}


def show_index(client: Client, ref: str) -> dict[str, Any]:
    """An index version's record: its inputs, where it was written, how many chunks of how many documents."""
    from .service import _remote

    remote = _remote(client, "/llm/index/show", {"ref": ref})
    if remote is not None:
        return dict(remote)
    node = client.resolve(ref)
    if not isinstance(node, Artifact) or node.kind.value != se.EMBEDDING_INDEX.value:
        raise ValidationError("index", f"{ref} is not an embedding index version")
    records = records_for(client.store)
    rows = records.rows("SELECT name, corpus, embedding_model, chunker, params, chunks, store, run_id "
                        "FROM embedding_indexes WHERE digest = :d", {"d": str(node.digest)})
    if not rows:
        raise NotFoundError(f"{ref} has no index record (run `mlineage rebuild`?)")
    name, corpus, model, chunker, params, count, store, run_id = rows[0]
    docs = records.rows("SELECT COUNT(DISTINCT doc_id) FROM index_chunks WHERE index_digest = :d",
                        {"d": str(node.digest)})[0][0]
    return {"digest": str(node.digest), "name": name, "version": node.version,
            "corpus": _label(client, corpus),
            "embedding_model": _label(client, model), "chunker": json.loads(chunker),
            "params": json.loads(params), "chunks": count, "documents": int(docs), "store": json.loads(store),
            "run_id": run_id}


def _label(client: Client, digest: str) -> dict[str, Any]:
    found = client.store.get_artifact(digest)
    return {"digest": digest, "label": found.label if found is not None else digest}


def chunk_documents(client: Client, index_digest: str, chunk_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Which document (and content hash) each chunk id of an index version is: what `explain-answer` needs
    to go from a retrieved chunk to its source document when the trace carries only the chunk id."""
    try:
        records = records_for(client.store)
    except MlineageError:
        return {}  # a store without the LLM tables (a remote one answers on the server)
    found: dict[str, dict[str, Any]] = {}
    for chunk_id in dict.fromkeys(chunk_ids):
        rows = records.rows("SELECT doc_id, content_hash FROM index_chunks WHERE index_digest = :i AND "
                            "chunk_id = :c", {"i": index_digest, "c": chunk_id})
        if rows:
            found[chunk_id] = {"document_id": rows[0][0], "content_hash": f"sha256:{rows[0][1]}"}
    return found
