"""LLM lineage reads over HTTP: a corpus document's proof, the corpus versions holding a document, and an
online packet's proof, an embedding index version's record, a federation's rounds and the human edits, each
computed by the caller's namespace view of the Client, so a remote Client
(``llm/service.py``) answers what an embedded one answers. Writes (corpus versions, model links,
checkpoints) are events through the append endpoint like every other write."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ..answers import answer
from ..deps import Reader, ServerDep
from ..models import ERRORS, _Open

router = APIRouter(prefix="/api/v1/llm", tags=["llm"], responses=ERRORS)

_Text = Annotated[str, Field(min_length=1, max_length=512)]


class DocumentProofIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    corpus: _Text
    doc_id: _Text


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    doc_id: _Text


class PacketProofIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    checkpoint: _Text
    packet: _Text


class IndexIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ref: _Text


class FederationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    federation: _Text


class EditsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: _Text | None = None


class IndexOut(_Open):
    digest: str
    name: str
    version: int | None
    corpus: dict[str, Any]
    embedding_model: dict[str, Any]
    chunker: dict[str, Any]
    params: dict[str, Any]
    chunks: int
    documents: int
    store: dict[str, Any]


class RoundsOut(BaseModel):
    rounds: list[dict[str, Any]]


class EditsOut(BaseModel):
    edits: list[dict[str, Any]]


class DocumentProofOut(_Open):
    corpus: str
    document: dict[str, Any]
    shard: str
    in_shard: dict[str, Any]
    in_corpus: dict[str, Any]
    verified: bool


class FoundOut(BaseModel):
    found: list[dict[str, Any]]


class PacketProofOut(_Open):
    checkpoint: str
    model: str
    number: int
    packet: str
    index: int
    size: int
    path: list[str]
    root: str
    verified: bool


@router.post("/corpus/prove", responses={200: {"model": DocumentProofOut, "description": "the proof"}})
def corpus_prove(body: DocumentProofIn, request: Request, p: Reader, state: ServerDep) -> Any:
    """``mlineage corpus prove --json``: a document's inclusion proof in a corpus version, verified."""
    return answer(request, state, p, "llm/corpus/prove", body.model_dump_json(),
                  lambda c: c.prove_document(body.corpus, body.doc_id))


@router.post("/corpus/find", responses={200: {"model": FoundOut, "description": "the corpus versions"}})
def corpus_find(body: DocumentIn, request: Request, p: Reader, state: ServerDep) -> Any:
    """``mlineage corpus find --json``: the corpus versions holding a document and the models below them."""
    return answer(request, state, p, "llm/corpus/find", body.model_dump_json(),
                  lambda c: {"found": c.find_document(body.doc_id)})


@router.post("/online/prove", responses={200: {"model": PacketProofOut, "description": "the proof"}})
def online_prove(body: PacketProofIn, request: Request, p: Reader, state: ServerDep) -> Any:
    """``mlineage online prove --json``: a packet's inclusion proof in an online checkpoint, verified."""
    return answer(request, state, p, "llm/online/prove", body.model_dump_json(),
                  lambda c: c.prove_packet(body.checkpoint, body.packet))


@router.post("/index/show", responses={200: {"model": IndexOut, "description": "the index version"}})
def index_show(body: IndexIn, request: Request, p: Reader, state: ServerDep) -> Any:
    """``mlineage index show --json``: an embedding index version's inputs, chunks and store."""
    return answer(request, state, p, "llm/index/show", body.model_dump_json(),
                  lambda c: c.index_info(body.ref))


@router.post("/federated/rounds", responses={200: {"model": RoundsOut, "description": "the rounds"}})
def federated_rounds(body: FederationIn, request: Request, p: Reader, state: ServerDep) -> Any:
    """``mlineage federated rounds --json``: a federation's rounds and each client's update digest."""
    return answer(request, state, p, "llm/federated/rounds", body.model_dump_json(),
                  lambda c: {"rounds": c.federated_rounds(body.federation)})


@router.post("/edits", responses={200: {"model": EditsOut, "description": "the edits"}})
def edits(body: EditsIn, request: Request, p: Reader, state: ServerDep) -> Any:
    """``mlineage edit list --json``: the recorded human edits, oldest first."""
    return answer(request, state, p, "llm/edits", body.model_dump_json(),
                  lambda c: {"edits": c.human_edits(body.person)})
