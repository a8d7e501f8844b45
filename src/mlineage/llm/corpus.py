"""Training corpora as Merkle trees: pure, no I/O (``corpus_source`` reads shard files into these records).

A corpus version is shards of documents in the shape Dolma and RedPajama use (``id``, ``source``, ``url``,
``licence``, ``added``). Each document's digest is the SHA-256 of its canonical JSON (text included), each
shard's digest the Merkle root over its documents, and the corpus digest the Merkle root over its shards, so
one document's membership is proven by two short audit paths instead of the whole corpus, and a takedown
request ("which corpus versions include document X?") is answered from the records without the data.

Leaf data is bound to names as well as content (``id ‖ 0x00 ‖ digest`` for a document, ``name ‖ 0x00 ‖
root`` for a shard), so a proof shows that *this id* with *this content* is in the corpus.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import ledger  # a module, not its name: the catalogue imports this package while ledger loads
from ..errors import ValidationError
from . import merkle

RECORD_FIELDS = ("source", "url", "licence", "added")
"""The per-document fields kept in the ledger besides id and digest (``license``/``created`` are read as
``licence``/``added``)."""


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    digest: str  # 64 hex characters: sha256 of the record's canonical JSON
    source: str | None = None
    url: str | None = None
    licence: str | None = None
    added: str | None = None

    def leaf(self) -> bytes:
        return merkle.leaf_hash(self.id.encode() + b"\x00" + bytes.fromhex(self.digest))

    def row(self) -> list[Any]:
        return [self.id, self.digest, self.source, self.url, self.licence, self.added]


@dataclass(frozen=True, slots=True)
class Shard:
    name: str
    documents: tuple[Document, ...]

    @property
    def root(self) -> bytes:
        return merkle.root_of_hashes([d.leaf() for d in self.documents])

    def leaf(self) -> bytes:
        return merkle.leaf_hash(self.name.encode() + b"\x00" + self.root)


@dataclass(frozen=True, slots=True)
class Corpus:
    shards: tuple[Shard, ...]

    @property
    def root(self) -> bytes:
        return merkle.root_of_hashes([s.leaf() for s in self.shards])

    @property
    def digest(self) -> str:
        return "sha256:" + self.root.hex()

    @property
    def documents(self) -> int:
        return sum(len(s.documents) for s in self.shards)


def document(record: Mapping[str, Any], where: str, canonical: bytes | None = None) -> Document:
    """A document from one parsed record (a JSONL line, a Parquet row); ``where`` names it in errors.
    ``canonical`` is the record's RFC 8785 form when the reader already made it (``corpus_source``)."""
    doc_id = record.get("id")
    if isinstance(doc_id, int) and not isinstance(doc_id, bool):
        doc_id = str(doc_id)
    if not isinstance(doc_id, str) or not doc_id or len(doc_id) > 512:
        raise ValidationError("id", f"{where}: every document needs an 'id' (a non-empty string)")
    if canonical is None:
        canonical = ledger.canonical_json(dict(record))
    digest = hashlib.sha256(canonical).hexdigest()
    fields: dict[str, str | None] = {}
    for key, alias in (("source", None), ("url", None), ("licence", "license"), ("added", "created")):
        value = record.get(key, record.get(alias) if alias else None)
        fields[key] = None if value is None else str(value)[:1000]
    return Document(doc_id, digest, **fields)


def build(shards: Iterable[tuple[str, Sequence[Document]]]) -> Corpus:
    """A corpus from named shards (sorted by name, so the digest does not depend on listing order).
    Duplicate document ids anywhere in the corpus, or duplicate shard names, are refused."""
    seen: dict[str, str] = {}
    out: list[Shard] = []
    for name, docs in sorted(shards, key=lambda s: s[0]):
        if any(s.name == name for s in out):
            raise ValidationError("shards", f"shard {name!r} is listed twice")
        for d in docs:
            if d.id in seen:
                raise ValidationError("id", f"duplicate document id {d.id!r} (in {seen[d.id]} and {name})",
                                      "document ids must be unique within a corpus version; nothing was "
                                      "recorded")
            seen[d.id] = name
        out.append(Shard(name, tuple(docs)))
    if not out:
        raise ValidationError("shards", "the corpus has no shards")
    if not seen:
        raise ValidationError("shards", f"the corpus has no documents: every shard is empty ({out[0].name}"
                              + (f" and {len(out) - 1} more)" if len(out) > 1 else ")"),
                              "a corpus version needs at least one document; nothing was recorded")
    return Corpus(tuple(out))


def to_payload(corpus: Corpus, name: str) -> dict[str, Any]:
    """The ``CorpusVersioned`` payload: every document's id, digest and record fields, per shard."""
    return {"digest": corpus.digest, "name": name,
            "shards": [{"name": s.name, "root": s.root.hex(), "documents": [d.row() for d in s.documents]}
                       for s in corpus.shards]}


def from_payload(payload: Mapping[str, Any]) -> Corpus:
    """The corpus a payload describes (the validator rebuilds it to check every root)."""
    shards = []
    for i, s in enumerate(payload.get("shards") or []):
        if not isinstance(s, Mapping) or not isinstance(s.get("name"), str) or not s["name"]:
            raise ValidationError(f"shards[{i}]", "must be an object with a name and documents")
        docs = []
        for j, row in enumerate(s.get("documents") or []):
            if not isinstance(row, list) or len(row) != 2 + len(RECORD_FIELDS):
                raise ValidationError(f"shards[{i}].documents[{j}]",
                                      "must be [id, digest, source, url, licence, added]")
            if not isinstance(row[1], str) or len(row[1]) != 64:
                raise ValidationError(f"shards[{i}].documents[{j}]", "digest must be 64 hex characters")
            docs.append(Document(*row))
        shards.append((s["name"], docs))
    return build(shards)


@dataclass(frozen=True, slots=True)
class DocumentProof:
    """A document's inclusion: its leaf in its shard's tree, and its shard's leaf in the corpus tree."""

    document: Document
    shard: str
    in_shard: merkle.InclusionProof
    in_corpus: merkle.InclusionProof

    def verify(self, corpus_root: bytes) -> bool:
        return (self.in_shard.verify() and self.in_corpus.verify() and self.in_corpus.root == corpus_root
                and self.in_corpus.leaf == merkle.leaf_hash(self.shard.encode() + b"\x00"
                                                            + self.in_shard.root)
                and self.in_shard.leaf == self.document.leaf())

    def to_json(self) -> dict[str, Any]:
        return {"document": dict(zip(("id", "digest", *RECORD_FIELDS), self.document.row(), strict=True)),
                "shard": self.shard, "in_shard": self.in_shard.to_json(),
                "in_corpus": self.in_corpus.to_json()}


def prove_document(shards: Sequence[Shard], doc_id: str) -> DocumentProof:
    """The inclusion proof of ``doc_id`` (``NotFoundError`` when no shard holds it)."""
    from ..errors import NotFoundError

    for si, shard in enumerate(shards):
        for di, d in enumerate(shard.documents):
            if d.id == doc_id:
                in_shard = merkle.prove([x.leaf() for x in shard.documents], di)
                in_corpus = merkle.prove([s.leaf() for s in shards], si)
                return DocumentProof(d, shard.name, in_shard, in_corpus)
    raise NotFoundError(f"document {doc_id!r} is not in this corpus version")
