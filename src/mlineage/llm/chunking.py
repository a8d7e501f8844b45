"""Embedding index versions: chunking and the index's identity (pure, no I/O).

An index version is fixed by what went into it: the corpus version, the embedding model's digest, the
chunker's configuration (splitter, size, overlap) and the index parameters. Chunks carry ids and content
hashes the way LangChain's ``RecordManager`` and LlamaIndex's node hashes do: the content hash is the SHA-256
of the chunk's text, the id a UUID5 over the document id, the chunk's start and its content hash, so the same
text at the same place always gets the same id and a changed chunk a new one. The index digest is the
SHA-256 of the canonical JSON of those inputs and of the Merkle root over ``chunk id ‖ 0x00 ‖ content hash``,
so one chunk's membership can be proven like a corpus document's.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationError
from . import merkle

SPLITTERS = ("characters", "words", "sentences")
CHUNK_NAMESPACE = uuid.UUID("3b8f0d52-7f1e-5a4c-9e21-6c0b4d7a9f13")
_SENTENCE = re.compile(r"[^.!?]+[.!?]*\s*")


@dataclass(frozen=True, slots=True)
class ChunkerConfig:
    """How documents were cut: ``size`` and ``overlap`` count units of ``splitter`` (characters, words or
    sentences)."""

    splitter: str = "words"
    size: int = 200
    overlap: int = 20

    def __post_init__(self) -> None:
        if self.splitter not in SPLITTERS:
            raise ValidationError("splitter", f"{self.splitter!r} is not a splitter",
                                  f"use {', '.join(SPLITTERS)}")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise ValidationError("size", "must be an integer >= 1")
        if (isinstance(self.overlap, bool) or not isinstance(self.overlap, int)
                or not 0 <= self.overlap < self.size):
            raise ValidationError("overlap", f"must be an integer from 0 to size - 1 ({self.size - 1})")

    def to_json(self) -> dict[str, Any]:
        return {"splitter": self.splitter, "size": self.size, "overlap": self.overlap}

    @classmethod
    def from_json(cls, value: Any) -> ChunkerConfig:
        if not isinstance(value, Mapping):
            raise ValidationError("chunker", "must be an object {splitter, size, overlap}")
        return cls(value.get("splitter", ""), value.get("size", 0), value.get("overlap", -1))


@dataclass(frozen=True, slots=True)
class Chunk:
    id: str  # uuid5, 32 hex digits
    doc_id: str
    start: int  # the chunk's first unit in its document
    content_hash: str  # 64 hex digits: sha256 of the text
    text: str

    def row(self) -> list[Any]:
        return [self.id, self.doc_id, self.start, self.content_hash]

    def leaf(self) -> bytes:
        return chunk_leaf(self.id, self.content_hash)


def chunk_leaf(chunk_id: str, content_hash: str) -> bytes:
    return merkle.leaf_hash(chunk_id.encode() + b"\x00" + bytes.fromhex(content_hash))


def chunk_id(doc_id: str, start: int, content_hash: str) -> str:
    return uuid.uuid5(CHUNK_NAMESPACE, f"{doc_id}\x00{start}\x00{content_hash}").hex


def _units(text: str, splitter: str) -> tuple[list[str], str]:
    if splitter == "characters":
        return list(text), ""
    if splitter == "words":
        return text.split(), " "
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()], " "


def chunk_document(doc_id: str, text: str, config: ChunkerConfig) -> list[Chunk]:
    """The chunks of one document: windows of ``size`` units, each starting ``size - overlap`` after the
    last; an empty document has none."""
    units, joiner = _units(text, config.splitter)
    out, step = [], config.size - config.overlap
    for start in range(0, max(len(units) - config.overlap, 1) if units else 0, step):
        piece = joiner.join(units[start:start + config.size])
        content = hashlib.sha256(piece.encode()).hexdigest()
        out.append(Chunk(chunk_id(doc_id, start, content), doc_id, start, content, piece))
    return out


def chunks_root(rows: Iterable[list[Any]]) -> bytes:
    """The Merkle root over chunk rows (``[id, doc_id, start, content_hash]``) in index order."""
    return merkle.root_of_hashes([chunk_leaf(r[0], r[3]) for r in rows])


def index_digest(corpus: str, embedding_model: str, chunker: ChunkerConfig, params: Mapping[str, Any],
                 rows: list[list[Any]]) -> str:
    """An index version's identity (see the module docstring)."""
    from ..ledger import canonical_json  # not at import time: the catalogue imports this package

    identity = {"corpus": corpus, "embedding_model": embedding_model, "chunker": chunker.to_json(),
                "params": dict(params), "chunks": chunks_root(rows).hex(), "count": len(rows)}
    return "sha256:" + hashlib.sha256(canonical_json(identity)).hexdigest()
