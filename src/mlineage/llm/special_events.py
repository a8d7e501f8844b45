"""Event types and projections for embedding index versions, federated rounds and human edits.

* ``EmbeddingIndexVersioned``: an index version's inputs (corpus, embedding model, chunker, parameters), its
  chunk ids and content hashes and where it was written; the validator recomputes the index digest from
  them. The graph edges (``DERIVED_FROM`` the corpus and the model, the build run's ``USED``/``PRODUCED``)
  are ordinary events in the same batch.
* ``FederatedRound``: one round's client updates (pseudonymous id, digest, size), the strategy's code digest
  and parameters, and the global model before and after.
* ``HumanEdit``: an edit's kind, person, before and after digests and reason, tied to its ``human_edit`` run.

Each registers its node kinds with the catalogue, so trace/impact, JSON, DOT and Mermaid show them as any
other; the projections own their tables and are rebuilt by ``rebuild``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..catalogue import EventSpec, register_artifact_kind, register_event, register_run_kind
from ..errors import ValidationError
from ..model import Digest
from ..serving.explain import register_chunk_resolver
from ..stores.projections import Projection, register_projection
from . import chunking, federated, hitl

if TYPE_CHECKING:
    from sqlalchemy import Table

    from ..events import StoredEvent
    from ..sdk.client import Client

INDEX_VERSIONED = "EmbeddingIndexVersioned"
FEDERATED_ROUND = "FederatedRound"
HUMAN_EDIT = "HumanEdit"

EMBEDDING_INDEX = register_artifact_kind("embedding_index")
CLIENT_UPDATE = register_artifact_kind("client_update")
LABEL = register_artifact_kind("label")
CORPUS_DOCUMENT = register_artifact_kind("corpus_document")
INDEX_BUILD = register_run_kind("index_build")
FEDERATED_ROUND_KIND = register_run_kind("federated_round")

MAX_CHUNKS = 50_000
_RUN_ID = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")


def _digest(p: Mapping[str, Any], key: str, required: bool = True) -> str | None:
    value = p.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ValidationError(key, "must be a sha256 digest")
    return str(Digest.parse(value))


def _text(p: Mapping[str, Any], key: str, limit: int = 200, required: bool = True) -> str | None:
    value = p.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ValidationError(key, f"must be a non-empty string of at most {limit} characters")
    return value


def _run_id(p: Mapping[str, Any]) -> str:
    value = p.get("run_id")
    if not isinstance(value, str) or not _RUN_ID.match(value):
        raise ValidationError("run_id", "must be a run id")
    return value


def _object(p: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = p.get(key) or {}
    if not isinstance(value, dict):
        raise ValidationError(key, "must be an object")
    return dict(value)


# ---------------------------------------------------------------- validators


def _validate_index(p: Mapping[str, Any]) -> dict[str, Any]:
    chunker = chunking.ChunkerConfig.from_json(p.get("chunker"))
    rows = p.get("chunks")
    if not isinstance(rows, list) or not rows:
        raise ValidationError("chunks", "an index version needs its chunks")
    if len(rows) > MAX_CHUNKS:
        raise ValidationError("chunks", f"more than {MAX_CHUNKS} chunks in one index version")
    seen = set()
    for i, row in enumerate(rows):
        if (not isinstance(row, list) or len(row) != 4 or not isinstance(row[0], str)
                or not re.fullmatch(r"[0-9a-f]{32}", row[0]) or not isinstance(row[1], str)
                or isinstance(row[2], bool) or not isinstance(row[2], int)
                or not isinstance(row[3], str) or not re.fullmatch(r"[0-9a-f]{64}", row[3])):
            raise ValidationError(f"chunks[{i}]", "must be [uuid5 hex id, document id, start, sha256 hex]")
        if row[0] in seen:
            raise ValidationError(f"chunks[{i}]", f"chunk id {row[0]} appears twice")
        seen.add(row[0])
    out: dict[str, Any] = {
        "digest": _digest(p, "digest"), "name": _text(p, "name"), "corpus": _digest(p, "corpus"),
        "embedding_model": _digest(p, "embedding_model"), "chunker": chunker.to_json(),
        "params": _object(p, "params"), "chunks": [list(r) for r in rows], "store": _object(p, "store")}
    expected = chunking.index_digest(out["corpus"], out["embedding_model"], chunker, out["params"],
                                     out["chunks"])
    if out["digest"] != expected:
        raise ValidationError("digest", f"{out['digest']} is not the index's identity ({expected}): its "
                                        "corpus, model, chunker, parameters and chunks")
    if p.get("run_id") is not None:
        out["run_id"] = _run_id(p)
    return out


def _validate_round(p: Mapping[str, Any]) -> dict[str, Any]:
    number = p.get("round")
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ValidationError("round", "must be an integer >= 1")
    strategy = _object(p, "strategy")
    out: dict[str, Any] = {
        "federation": _text(p, "federation"), "round": number, "run_id": _run_id(p),
        "global": _digest(p, "global"), "previous": _digest(p, "previous", required=False),
        "strategy": {"name": _text(strategy, "name"), "code_digest": _digest(strategy, "code_digest"),
                     "params": _object(strategy, "params")},
        "updates": [u.row() for u in federated.updates_from_payload(p.get("updates"))]}
    if out["previous"] is None:
        del out["previous"]
    elif out["previous"] == out["global"]:
        raise ValidationError("global",
                              "the round's global model is the previous one: nothing was aggregated")
    if out["global"] in {u[1] for u in out["updates"]}:
        raise ValidationError("global", "the global model is one client's update")
    return out


def _validate_edit(p: Mapping[str, Any]) -> dict[str, Any]:
    edit, person, reason = p.get("edit"), _text(p, "person"), _text(p, "reason", limit=2000)
    before, after = _digest(p, "before"), _digest(p, "after", required=False)
    hitl.check_edit(str(edit), str(before), after, str(person), str(reason))
    out: dict[str, Any] = {"run_id": _run_id(p), "edit": edit, "person": person, "before": before,
                           "reason": reason}
    if after is not None:
        out["after"] = after
    item = _text(p, "item", limit=512, required=False)
    if item is not None:
        out["item"] = item
    return out


def _refs(*keys: str) -> Any:
    return lambda p: tuple(("artifact", str(p[k])) for k in keys if p.get(k))


INDEX_SPEC = register_event(EventSpec(INDEX_VERSIONED, _validate_index, projections=("embedding_indexes",),
                                      references=_refs("digest", "corpus", "embedding_model")))
ROUND_SPEC = register_event(EventSpec(
    FEDERATED_ROUND, _validate_round, projections=("federated_rounds",),
    references=lambda p: (*_refs("global", "previous")(p),
                          *(("artifact", str(u[1])) for u in p.get("updates") or () if isinstance(u, list)))))
EDIT_SPEC = register_event(EventSpec(HUMAN_EDIT, _validate_edit, projections=("human_edits",),
                                     references=_refs("before", "after")))


# ---------------------------------------------------------------- projections


def _tables() -> dict[str, Table]:
    from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text

    meta = MetaData()
    tables = [
        Table("embedding_indexes", meta, Column("digest", String(80), primary_key=True),
              Column("name", String(200), nullable=False), Column("corpus", String(80), nullable=False),
              Column("embedding_model", String(80), nullable=False), Column("chunker", Text, nullable=False),
              Column("params", Text, nullable=False), Column("chunks", Integer, nullable=False),
              Column("store", Text, nullable=False), Column("run_id", String(200)),
              Column("seq", BigInteger, nullable=False)),
        Table("index_chunks", meta, Column("index_digest", String(80), primary_key=True),
              Column("chunk_id", String(32), primary_key=True), Column("doc_id", String(512), nullable=False),
              Column("start", Integer, nullable=False), Column("content_hash", String(64), nullable=False),
              Column("seq", BigInteger, nullable=False)),
        Table("federated_rounds", meta, Column("federation", String(200), primary_key=True),
              Column("round", Integer, primary_key=True), Column("run_id", String(200), nullable=False),
              Column("global_model", String(80), nullable=False), Column("previous", String(80)),
              Column("strategy", String(200), nullable=False),
              Column("strategy_digest", String(80), nullable=False), Column("params", Text, nullable=False),
              Column("clients", Integer, nullable=False), Column("seq", BigInteger, nullable=False)),
        Table("federated_updates", meta, Column("federation", String(200), primary_key=True),
              Column("round", Integer, primary_key=True), Column("client", String(64), primary_key=True),
              Column("digest", String(80), nullable=False), Column("size", BigInteger, nullable=False),
              Column("examples", BigInteger), Column("seq", BigInteger, nullable=False)),
        Table("human_edits", meta, Column("run_id", String(200), primary_key=True),
              Column("edit", String(40), nullable=False), Column("person", String(200), nullable=False),
              Column("before_digest", String(80), nullable=False), Column("after_digest", String(80)),
              Column("reason", Text, nullable=False), Column("item", String(512)),
              Column("seq", BigInteger, nullable=False)),
    ]
    return {t.name: t for t in tables}


class _Tables(Projection):
    @classmethod
    def schema(cls) -> Sequence[Table]:
        every = _tables()
        return [every[t] for t in cls.tables]


class EmbeddingIndexesProjection(_Tables):
    """Owns ``embedding_indexes`` (one row per index version: its inputs and where it was written) and
    ``index_chunks`` (which chunk of which document, by content hash, is in which index version)."""

    name = "embedding_indexes"
    tables = ("embedding_indexes", "index_chunks")

    def handlers(self) -> dict[str, Any]:
        return {INDEX_VERSIONED: self._versioned}

    def _versioned(self, e: StoredEvent, p: dict[str, Any]) -> None:
        self.writer.projection("artifacts").newest_of(p["digest"], "digest")  # recorded in the same batch
        params = {"d": p["digest"], "n": p["name"], "c": p["corpus"], "m": p["embedding_model"],
                  "k": json.dumps(p["chunker"], sort_keys=True), "p": json.dumps(p["params"], sort_keys=True),
                  "x": len(p["chunks"]), "st": json.dumps(p["store"], sort_keys=True), "r": p.get("run_id"),
                  "s": e.seq}
        if self.writer.one("SELECT 1 FROM embedding_indexes WHERE digest = :d", {"d": p["digest"]}):
            self.writer.execute("UPDATE embedding_indexes SET store = :st, run_id = :r, seq = :s "
                                "WHERE digest = :d", params)  # the same index written again: where, now
            return
        self.writer.execute("INSERT INTO embedding_indexes (digest, name, corpus, embedding_model, chunker, "
                            "params, chunks, store, run_id, seq) "
                            "VALUES (:d, :n, :c, :m, :k, :p, :x, :st, :r, :s)", params)
        for row in p["chunks"]:
            self.writer.execute("INSERT INTO index_chunks (index_digest, chunk_id, doc_id, start, "
                                "content_hash, seq) VALUES (:i, :c, :d, :st, :h, :s)",
                                {"i": p["digest"], "c": row[0], "d": row[1], "st": row[2], "h": row[3],
                                 "s": e.seq})


class FederatedRoundsProjection(_Tables):
    """Owns ``federated_rounds`` and ``federated_updates``: per round, the strategy, the global model and
    each client's update by digest and size."""

    name = "federated_rounds"
    tables = ("federated_rounds", "federated_updates")

    def handlers(self) -> dict[str, Any]:
        return {FEDERATED_ROUND: self._round}

    def _round(self, e: StoredEvent, p: dict[str, Any]) -> None:
        key = {"f": p["federation"], "r": p["round"]}
        if self.writer.one("SELECT 1 FROM federated_rounds WHERE federation = :f AND round = :r", key):
            raise ValidationError("round", f"{p['federation']} round {p['round']} is already recorded")
        strategy = p["strategy"]
        self.writer.execute(
            "INSERT INTO federated_rounds (federation, round, run_id, global_model, previous, strategy, "
            "strategy_digest, params, clients, seq) VALUES (:f, :r, :run, :g, :p, :sn, :sd, :sp, :n, :s)",
            {**key, "run": p["run_id"], "g": p["global"], "p": p.get("previous"), "sn": strategy["name"],
             "sd": strategy["code_digest"], "sp": json.dumps(strategy["params"], sort_keys=True),
             "n": len(p["updates"]), "s": e.seq})
        for client, digest, size, examples in p["updates"]:
            self.writer.execute("INSERT INTO federated_updates (federation, round, client, digest, size, "
                                "examples, seq) VALUES (:f, :r, :c, :d, :z, :x, :s)",
                                {**key, "c": client, "d": digest, "z": size, "x": examples, "s": e.seq})


class HumanEditsProjection(_Tables):
    """Owns ``human_edits``: who edited what, why, and the digests before and after."""

    name = "human_edits"
    tables = ("human_edits",)

    def handlers(self) -> dict[str, Any]:
        return {HUMAN_EDIT: self._edit}

    def _edit(self, e: StoredEvent, p: dict[str, Any]) -> None:
        if self.writer.one("SELECT 1 FROM human_edits WHERE run_id = :r", {"r": p["run_id"]}):
            return
        self.writer.execute("INSERT INTO human_edits (run_id, edit, person, before_digest, after_digest, "
                            "reason, item, seq) VALUES (:r, :e, :p, :b, :a, :why, :i, :s)",
                            {"r": p["run_id"], "e": p["edit"], "p": p["person"], "b": p["before"],
                             "a": p.get("after"), "why": p["reason"], "i": p.get("item"), "s": e.seq})


for _projection in (EmbeddingIndexesProjection, FederatedRoundsProjection, HumanEditsProjection):
    register_projection(_projection)


def _chunk_documents(client: Client, index_digest: str,
                     chunk_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    from .indexes import chunk_documents

    return chunk_documents(client, index_digest, chunk_ids)


register_chunk_resolver(_chunk_documents)  # explain-answer: a retrieved chunk id → its source document
