"""The LLM lineage event types and their projections: corpus versions, model links, online
checkpoints. Each is one spec in the catalogue and one projection that owns its tables; graph edges go
through the graph projection, so trace/impact/DOT/Mermaid show them with no special case.

* ``CorpusVersioned``: a corpus version's documents per shard; the validator rebuilds every Merkle root and
  refuses a payload whose roots do not match its documents, or with duplicate document ids.
* ``ModelLinked``: a model derived from one or more base models with a Hugging Face ``base_model_relation``
  (``adapter``, ``merge``, ``quantized``, ``finetune``), drawn as an edge of that type from each base.
* ``OnlineCheckpoint``: a batch of online-learning packet digests and their Merkle root.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..catalogue import EventSpec, register_artifact_kind, register_edge_type, register_event
from ..errors import ValidationError
from ..model import Digest, EdgeType
from ..stores.projections import Projection, register_projection
from . import corpus as corpus_model
from . import merkle, online

if TYPE_CHECKING:
    from sqlalchemy import Table

    from ..events import StoredEvent

CORPUS_VERSIONED = "CorpusVersioned"
MODEL_LINKED = "ModelLinked"
ONLINE_CHECKPOINT = "OnlineCheckpoint"

CORPUS = register_artifact_kind("corpus")
ADAPTER_KIND = register_artifact_kind("adapter")
ONLINE_CHECKPOINT_KIND = register_artifact_kind("online_checkpoint")

RELATIONS: dict[str, EdgeType] = {
    relation: register_edge_type(relation.upper())
    for relation in ("adapter", "merge", "quantized", "finetune")
}
"""Hugging Face's ``base_model_relation`` values, each an edge type from base to derived model."""

MAX_CHECKPOINT_PACKETS = 100_000


def _digest(p: Mapping[str, Any], key: str) -> str:
    value = p.get(key)
    if not isinstance(value, str):
        raise ValidationError(key, "must be a sha256 digest")
    return str(Digest.parse(value))


def _name(p: Mapping[str, Any], key: str) -> str:
    value = p.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise ValidationError(key, "must be a non-empty string of at most 200 characters")
    return value


def _validate_corpus(p: Mapping[str, Any]) -> dict[str, Any]:
    built = corpus_model.from_payload(p)
    digest = _digest(p, "digest")
    if digest != built.digest:
        raise ValidationError("digest", f"{digest} is not the Merkle root of the documents ({built.digest})")
    for shard, given in zip(built.shards, p["shards"], strict=True):
        if given.get("root") != shard.root.hex():
            raise ValidationError("shards", f"shard {shard.name}'s root does not match its documents")
    return corpus_model.to_payload(built, _name(p, "name"))


def _validate_link(p: Mapping[str, Any]) -> dict[str, Any]:
    relation = p.get("relation")
    if relation not in RELATIONS:
        raise ValidationError("relation", f"{relation!r} is not a base_model_relation",
                              f"use one of {', '.join(RELATIONS)}")
    parents = p.get("parents")
    if not isinstance(parents, list) or not parents:
        raise ValidationError("parents", "must name at least one base model")
    out_parents = [_digest({"parent": x}, "parent") for x in parents]
    if len(set(out_parents)) != len(out_parents):
        raise ValidationError("parents", "a base model is named twice")
    if relation == "merge" and len(out_parents) < 2:
        raise ValidationError("parents", "a merge needs at least two base models")
    if relation != "merge" and len(out_parents) != 1:
        raise ValidationError("parents", f"an {relation} has exactly one base model (a merge has several)")
    child = _digest(p, "child")
    if child in out_parents:
        raise ValidationError("parents", "a model cannot be its own base")
    return {"child": child, "parents": out_parents, "relation": relation}


def _validate_checkpoint(p: Mapping[str, Any]) -> dict[str, Any]:
    leaves = p.get("leaves")
    if not isinstance(leaves, str) or not leaves:
        raise ValidationError("leaves", "must be the packets' digests as one hex string")
    digests = online.unpack(leaves)
    if len(digests) > MAX_CHECKPOINT_PACKETS:
        raise ValidationError("leaves", f"more than {MAX_CHECKPOINT_PACKETS} packets in one checkpoint")
    number = p.get("number")
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ValidationError("number", "must be an integer >= 1")
    root = merkle.root_of_hashes([merkle.leaf_hash(d) for d in digests])
    digest = _digest(p, "digest")
    if digest != "sha256:" + root.hex():
        raise ValidationError("digest", "is not the Merkle root of the packet digests")
    out: dict[str, Any] = {"digest": digest, "model": _name(p, "model"), "number": number,
                           "count": len(digests), "leaves": leaves}
    if p.get("previous") is not None:
        out["previous"] = _digest(p, "previous")
        if out["previous"] == digest:
            raise ValidationError("previous", "the same packets as the previous checkpoint")
    return out


def _artifact(key: str) -> Any:
    return lambda p: (("artifact", str(p.get(key))),)


CORPUS_SPEC = register_event(EventSpec(CORPUS_VERSIONED, _validate_corpus, references=_artifact("digest"),
                                       projections=("corpora",)))
LINK_SPEC = register_event(EventSpec(
    MODEL_LINKED, _validate_link, projections=("model_links",),
    references=lambda p: (("artifact", str(p.get("child"))),
                          *(("artifact", str(x)) for x in p.get("parents") or ()))))
CHECKPOINT_SPEC = register_event(EventSpec(ONLINE_CHECKPOINT, _validate_checkpoint,
                                           references=_artifact("digest"),
                                           projections=("online_checkpoints",)))


def _tables() -> list[Table]:
    from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text

    meta = MetaData()
    return [
        Table("corpus_documents", meta, Column("corpus", String(80), primary_key=True),
              Column("doc_id", String(512), primary_key=True), Column("shard", String(1000), nullable=False),
              Column("position", Integer, nullable=False), Column("digest", String(64), nullable=False),
              Column("source", Text), Column("url", Text), Column("licence", Text), Column("added", Text),
              Column("seq", BigInteger, nullable=False)),
        Table("corpus_shards", meta, Column("corpus", String(80), primary_key=True),
              Column("position", Integer, primary_key=True), Column("name", String(1000), nullable=False),
              Column("root", String(64), nullable=False), Column("documents", Integer, nullable=False),
              Column("seq", BigInteger, nullable=False)),
        Table("model_links", meta, Column("child", String(80), primary_key=True),
              Column("parent", String(80), primary_key=True), Column("relation", String(20), nullable=False),
              Column("seq", BigInteger, nullable=False)),
        Table("online_checkpoints", meta, Column("digest", String(80), primary_key=True),
              Column("model", String(200), nullable=False), Column("number", Integer, nullable=False),
              Column("count", Integer, nullable=False), Column("leaves", Text, nullable=False),
              Column("tree", Text, nullable=False),
              Column("previous", String(80)), Column("seq", BigInteger, nullable=False)),
    ]


def _index(name: str) -> int:
    return {"corpus_documents": 0, "corpus_shards": 1, "model_links": 2, "online_checkpoints": 3}[name]


class _LlmProjection(Projection):
    @classmethod
    def schema(cls) -> Sequence[Table]:
        every = _tables()
        return [every[_index(t)] for t in cls.tables]

    def _node(self, digest: str, field: str) -> int:
        node: int = self.writer.projection("artifacts").newest_of(digest, field)
        return node


class CorporaProjection(_LlmProjection):
    """Owns ``corpus_documents`` and ``corpus_shards``: which document is in which corpus version, and the
    shard roots a proof is built from."""

    name = "corpora"
    tables = ("corpus_documents", "corpus_shards")

    def handlers(self) -> dict[str, Any]:
        return {CORPUS_VERSIONED: self._versioned}

    def _versioned(self, e: StoredEvent, p: dict[str, Any]) -> None:
        self._node(p["digest"], "digest")  # the corpus artifact must be recorded first (same batch)
        if self.writer.one("SELECT 1 FROM corpus_shards WHERE corpus = :c", {"c": p["digest"]}):
            return  # the same corpus version recorded again: nothing new
        for si, shard in enumerate(p["shards"]):
            self.writer.execute("INSERT INTO corpus_shards (corpus, position, name, root, documents, seq) "
                                "VALUES (:c, :i, :n, :r, :d, :s)",
                                {"c": p["digest"], "i": si, "n": shard["name"], "r": shard["root"],
                                 "d": len(shard["documents"]), "s": e.seq})
            for di, row in enumerate(shard["documents"]):
                self.writer.execute(
                    "INSERT INTO corpus_documents (corpus, doc_id, shard, position, digest, source, url, "
                    "licence, added, seq) VALUES (:c, :id, :sh, :i, :d, :so, :u, :l, :a, :s)",
                    {"c": p["digest"], "id": row[0], "sh": shard["name"], "i": di, "d": row[1], "so": row[2],
                     "u": row[3], "l": row[4], "a": row[5], "s": e.seq})


class ModelLinksProjection(_LlmProjection):
    """Owns ``model_links`` and draws one typed edge (ADAPTER, MERGE, ...) from each base to the model."""

    name = "model_links"
    tables = ("model_links",)

    def handlers(self) -> dict[str, Any]:
        return {MODEL_LINKED: self._linked}

    def _linked(self, e: StoredEvent, p: dict[str, Any]) -> None:
        graph, type_ = self.writer.projection("graph"), RELATIONS[p["relation"]]
        child = self._node(p["child"], "child")
        for parent in p["parents"]:
            graph.edge(self._node(parent, "parents"), child, type_, None, e.seq)
            params = {"c": p["child"], "p": parent, "r": p["relation"], "s": e.seq}
            if self.writer.one("SELECT 1 FROM model_links WHERE child = :c AND parent = :p", params):
                self.writer.execute("UPDATE model_links SET relation = :r, seq = :s "
                                    "WHERE child = :c AND parent = :p", params)
            else:
                self.writer.execute("INSERT INTO model_links (child, parent, relation, seq) "
                                    "VALUES (:c, :p, :r, :s)", params)


class OnlineCheckpointsProjection(_LlmProjection):
    """Owns ``online_checkpoints`` (one row per batch, its packed leaves and every level of its tree, so a
    proof reads its path instead of rehashing the batch) and draws a
    ``DERIVED_FROM`` edge from the previous checkpoint of the same model."""

    name = "online_checkpoints"
    tables = ("online_checkpoints",)

    def handlers(self) -> dict[str, Any]:
        return {ONLINE_CHECKPOINT: self._checkpoint}

    def _checkpoint(self, e: StoredEvent, p: dict[str, Any]) -> None:
        node = self._node(p["digest"], "digest")
        if self.writer.one("SELECT 1 FROM online_checkpoints WHERE digest = :d", {"d": p["digest"]}):
            return
        if p.get("previous"):
            self.writer.projection("graph").edge(self._node(p["previous"], "previous"), node,
                                                 EdgeType.DERIVED_FROM, "next", e.seq)
        tree = online.packed_tree(online.unpack(p["leaves"]))
        self.writer.execute("INSERT INTO online_checkpoints (digest, model, number, count, leaves, tree, "
                            "previous, seq) VALUES (:d, :m, :n, :c, :l, :t, :p, :s)",
                            {"d": p["digest"], "m": p["model"], "n": p["number"], "c": p["count"],
                             "l": p["leaves"], "t": tree, "p": p.get("previous"), "s": e.seq})


for _projection in (CorporaProjection, ModelLinksProjection, OnlineCheckpointsProjection):
    register_projection(_projection)

from . import special_events as _special  # noqa: F401  (embedding indexes, federated rounds, human edits)
