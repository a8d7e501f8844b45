"""The event types imports write, each declared once, and the projections that fold them.

* ``DigestAliased``: another system's digest of an artifact (DVC's ``md5:...``) names a recorded artifact.
  The ``digest_aliases`` table answers ``md5:...`` refs (``refs.py``).
* ``SourceImported``: one unit of a source (a DVC commit, an MLflow run, an OpenLineage document) is in the
  ledger, with a fingerprint of what it held. ``imported_sources`` lets a re-run skip what it already imported
  (resume) and notice a unit that changed since.
* ``RegistryAliasImported``: a model registry's alias (MLflow's ``@champion``) pointing at a version, kept as
  a plain ledger event until mlineage has a registry of its own.
* ``EdgeInferred`` / ``EdgeDecided``: a lineage edge a post-hoc scan inferred (never tracked), with its
  confidence and evidence, and a user's confirmation or rejection of it. ``inferred_edges`` keeps them; the
  graph gets an ``INFERRED`` edge whose role carries the confidence and the evidence, so every output (tree,
  JSON, DOT, Mermaid) shows it apart from tracked edges.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..catalogue import EventSpec, register_edge_type, register_event
from ..errors import ValidationError
from ..model import Digest
from ..stores.projections import Projection, register_projection

if TYPE_CHECKING:
    from sqlalchemy import Table

    from ..events import StoredEvent

DIGEST_ALIASED = "DigestAliased"
SOURCE_IMPORTED = "SourceImported"
REGISTRY_ALIAS_IMPORTED = "RegistryAliasImported"
EDGE_INFERRED = "EdgeInferred"
EDGE_DECIDED = "EdgeDecided"
INFERRED = register_edge_type("INFERRED")

ALIAS = re.compile(r"^md5:[0-9a-f]{32}(\.dir)?$")
SOURCES = ("dvc", "mlflow", "openlineage", "scan")


def _text(p: Mapping[str, Any], key: str, max_len: int = 1000, required: bool = True) -> str | None:
    value = p.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise ValidationError(key, f"must be a non-empty string of at most {max_len} characters")
    return value


def _digest(p: Mapping[str, Any], key: str) -> str:
    return str(Digest.parse(str(_text(p, key))))


def parse_alias(text: str) -> str:
    """``md5:<32 hex>`` (``.dir`` for a DVC directory listing), lower case, or ValidationError."""
    alias = text.strip().lower()
    if not ALIAS.match(alias):
        raise ValidationError("alias", f"{text!r} is not an alias digest", "write it as md5:<32 hex digits>")
    return alias


def _digest_aliased(p: Mapping[str, Any]) -> dict[str, Any]:
    return {"alias": parse_alias(str(_text(p, "alias"))), "digest": _digest(p, "digest")}


def _source_imported(p: Mapping[str, Any]) -> dict[str, Any]:
    source = _text(p, "source", 32)
    if source not in SOURCES:
        raise ValidationError("source", f"{source!r} is not one of: {', '.join(SOURCES)}")
    out: dict[str, Any] = {"source": source, "key": _text(p, "key", 500),
                           "fingerprint": _text(p, "fingerprint", 64)}
    origin = _text(p, "origin", 1000, required=False)
    if origin is not None:
        out["origin"] = origin
    return out


def _registry_alias(p: Mapping[str, Any]) -> dict[str, Any]:
    out = {"registry": _text(p, "registry", 32), "name": _text(p, "name", 200),
           "alias": _text(p, "alias", 200), "version": _text(p, "version", 64)}
    digest = p.get("digest")
    if digest is not None:
        out["digest"] = _digest(p, "digest")
    return out


def _node(p: Mapping[str, Any], key: str) -> dict[str, str]:
    node = p.get(key)
    if not isinstance(node, dict) or node.get("kind") not in ("artifact", "run"):
        raise ValidationError(key, "must be {kind: artifact|run, key: digest or run id}")
    value = _text(node, "key", 128)
    assert value is not None
    return {"kind": node["kind"], "key": str(Digest.parse(value)) if node["kind"] == "artifact" else value}


def _edge_inferred(p: Mapping[str, Any]) -> dict[str, Any]:
    confidence = p.get("confidence")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence <= 1:
        raise ValidationError("confidence", "must be a number in (0, 1]")
    evidence = p.get("evidence")
    if not isinstance(evidence, list) or not evidence:
        raise ValidationError("evidence", "must be a non-empty list of {file, line, text}")
    items = []
    for i, item in enumerate(evidence[:20]):
        if not isinstance(item, dict) or not isinstance(item.get("file"), str) \
                or not isinstance(item.get("line"), int):
            raise ValidationError(f"evidence[{i}]", "must be {file, line, text}")
        items.append({"file": item["file"][:500], "line": item["line"],
                      "text": str(item.get("text", ""))[:300]})
    relation = _text(p, "relation", 16)
    if relation not in ("read", "write", "derived"):
        raise ValidationError("relation", "must be read, write or derived")
    return {"edge_id": _text(p, "edge_id", 64), "parent": _node(p, "parent"), "child": _node(p, "child"),
            "relation": relation, "confidence": round(float(confidence), 3), "method": _text(p, "method", 32),
            "evidence": items}


def _edge_decided(p: Mapping[str, Any]) -> dict[str, Any]:
    decision = _text(p, "decision", 16)
    if decision not in ("confirmed", "rejected"):
        raise ValidationError("decision", "must be confirmed or rejected")
    out: dict[str, Any] = {"edge_id": _text(p, "edge_id", 64), "decision": decision}
    note = _text(p, "note", 1000, required=False)
    if note is not None:
        out["note"] = note
    return out


def _node_ref(node: dict[str, str]) -> tuple[str, str]:
    return (node["kind"], node["key"])


register_event(EventSpec(DIGEST_ALIASED, _digest_aliased, references=lambda p: (("artifact", p["digest"]),),
                         projections=("digest_aliases",)))
register_event(EventSpec(SOURCE_IMPORTED, _source_imported, projections=("imported_sources",)))
register_event(EventSpec(REGISTRY_ALIAS_IMPORTED, _registry_alias))
register_event(EventSpec(EDGE_INFERRED, _edge_inferred,
                         references=lambda p: (_node_ref(p["parent"]), _node_ref(p["child"])),
                         projections=("inferred_edges",)))
register_event(EventSpec(EDGE_DECIDED, _edge_decided, redact=("note",), projections=("inferred_edges",)))


def evidence_role(p: Mapping[str, Any]) -> str:
    """The role an inferred edge carries in the graph: relation, confidence and first evidence, e.g.
    ``read p=0.90 src/train.py:12``; every renderer prints it next to the ``INFERRED`` type."""
    first = p["evidence"][0]
    where = f"{first['file']}:{first['line']}"
    return f"{p['relation']} p={p['confidence']:.2f} {where}"[:200]


def _tables() -> list[Table]:
    from sqlalchemy import BigInteger, Column, Float, MetaData, String, Table, Text

    meta = MetaData()
    return [
        Table("digest_aliases", meta, Column("alias", String(64), primary_key=True),
              Column("digest", String(80), primary_key=True), Column("seq", BigInteger, nullable=False)),
        Table("imported_sources", meta, Column("source", String(32), primary_key=True),
              Column("key", String(500), primary_key=True), Column("fingerprint", String(64), nullable=False),
              Column("seq", BigInteger, nullable=False)),
        Table("inferred_edges", meta, Column("edge_id", String(64), primary_key=True),
              Column("parent", String(140), nullable=False), Column("child", String(140), nullable=False),
              Column("relation", String(16), nullable=False), Column("confidence", Float, nullable=False),
              Column("method", String(32), nullable=False), Column("evidence", Text, nullable=False),
              Column("status", String(16), nullable=False), Column("seq", BigInteger, nullable=False)),
    ]


class DigestAliasesProjection(Projection):
    """Owns ``digest_aliases``: alias digest -> the artifact digests it names (one row per pair)."""

    name = "digest_aliases"
    tables = ("digest_aliases",)

    @classmethod
    def schema(cls) -> Sequence[Table]:
        return [_tables()[0]]

    def handlers(self) -> dict[str, Any]:
        return {DIGEST_ALIASED: self._aliased}

    def _aliased(self, e: StoredEvent, p: dict[str, Any]) -> None:
        self.writer.projection("artifacts").node_of(p["digest"], "digest")
        if self.writer.one("SELECT 1 FROM digest_aliases WHERE alias = :a AND digest = :d",
                           {"a": p["alias"], "d": p["digest"]}) is None:
            self.writer.execute("INSERT INTO digest_aliases (alias, digest, seq) VALUES (:a, :d, :s)",
                                {"a": p["alias"], "d": p["digest"], "s": e.seq})


class ImportedSourcesProjection(Projection):
    """Owns ``imported_sources``: (source, unit key) -> the fingerprint last imported."""

    name = "imported_sources"
    tables = ("imported_sources",)

    @classmethod
    def schema(cls) -> Sequence[Table]:
        return [_tables()[1]]

    def handlers(self) -> dict[str, Any]:
        return {SOURCE_IMPORTED: self._imported}

    def _imported(self, e: StoredEvent, p: dict[str, Any]) -> None:
        params = {"s": p["source"], "k": p["key"], "f": p["fingerprint"], "q": e.seq}
        self.writer.execute("DELETE FROM imported_sources WHERE source = :s AND key = :k", params)
        self.writer.execute("INSERT INTO imported_sources (source, key, fingerprint, seq) "
                            "VALUES (:s, :k, :f, :q)", params)


class InferredEdgesProjection(Projection):
    """Owns ``inferred_edges`` and draws each inferred edge into the graph as ``INFERRED``."""

    name = "inferred_edges"
    tables = ("inferred_edges",)

    @classmethod
    def schema(cls) -> Sequence[Table]:
        return [_tables()[2]]

    def handlers(self) -> dict[str, Any]:
        return {EDGE_INFERRED: self._inferred, EDGE_DECIDED: self._decided}

    def _node_id(self, node: dict[str, str], field: str) -> int:
        if node["kind"] == "run":
            return int(self.writer.projection("runs").state(node["key"]).node_id)
        return int(self.writer.projection("artifacts").node_of(node["key"], field))

    def _inferred(self, e: StoredEvent, p: dict[str, Any]) -> None:
        import json

        if self.writer.one("SELECT 1 FROM inferred_edges WHERE edge_id = :e", {"e": p["edge_id"]}):
            return
        parent, child = self._node_id(p["parent"], "parent"), self._node_id(p["child"], "child")
        self.writer.projection("graph").edge(parent, child, INFERRED, evidence_role(p), e.seq)
        self.writer.execute(
            "INSERT INTO inferred_edges (edge_id, parent, child, relation, confidence, method, evidence, "
            "status, seq) VALUES (:e, :p, :c, :r, :conf, :m, :ev, 'inferred', :s)",
            {"e": p["edge_id"], "p": f"{p['parent']['kind']}:{p['parent']['key']}",
             "c": f"{p['child']['kind']}:{p['child']['key']}", "r": p["relation"], "conf": p["confidence"],
             "m": p["method"], "ev": json.dumps(p["evidence"], sort_keys=True), "s": e.seq})

    def _decided(self, e: StoredEvent, p: dict[str, Any]) -> None:
        from ..errors import NotFoundError

        if self.writer.one("SELECT 1 FROM inferred_edges WHERE edge_id = :e", {"e": p["edge_id"]}) is None:
            raise NotFoundError(
                f"edge_id: no inferred edge {p['edge_id']} (`mlineage scan edges` lists them)")
        self.writer.execute("UPDATE inferred_edges SET status = :d WHERE edge_id = :e",
                            {"d": p["decision"], "e": p["edge_id"]})


for _projection in (DigestAliasesProjection, ImportedSourcesProjection, InferredEdgesProjection):
    register_projection(_projection)
