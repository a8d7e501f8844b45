"""The gates' event types and the one projection that folds them.

* ``GateEvaluated``: one policy entry judged one artifact: the gate, the entry's label, the artifact's digest,
  the verdict, the checks with their measured values (counts, names, kinds; never data values) and the digest
  of the policy that asked for it. ``mlineage show`` lists them, so an audit can prove which gates a model
  passed under which version of the rules.
* ``OwnerSet``: who owns an artifact (by digest) or every version of a name; changed only by another event.
* ``LicenceRecorded``: the licence an artifact carries (an SPDX expression or a licence id).
* ``SourceRecorded``: where an artifact came from, for one no run produced (the auditability gate accepts it
  in place of a producing run).

The ``gates`` projection keeps the latest owner, licence and source per target and every evaluation, in four
tables of its own, rebuilt with the rest by ``rebuild``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..catalogue import EventSpec, register_event
from ..errors import ValidationError
from ..stores.projections import Projection, register_projection

if TYPE_CHECKING:
    from sqlalchemy import Table

    from ..events import StoredEvent

GATE_EVALUATED = "GateEvaluated"
OWNER_SET = "OwnerSet"
LICENCE_RECORDED = "LicenceRecorded"
SOURCE_RECORDED = "SourceRecorded"
VERDICTS = ("pass", "warn", "fail", "error")
MAX_CHECKS = 1000


def _text(p: Mapping[str, Any], key: str, limit: int) -> str:
    value = p.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ValidationError(key, f"must be a non-empty string of at most {limit} characters")
    return value.strip()


def _digest(p: Mapping[str, Any], key: str = "digest") -> str:
    value = _text(p, key, 80)
    if not value.startswith("sha256:"):
        raise ValidationError(key, "must be an artifact digest (sha256:<hex>)")
    return value


def _validate_evaluation(p: Mapping[str, Any]) -> dict[str, Any]:
    verdict = p.get("verdict")
    if verdict not in VERDICTS:
        raise ValidationError("verdict", f"must be one of {', '.join(VERDICTS)}")
    checks = p.get("checks")
    if not isinstance(checks, list) or len(checks) > MAX_CHECKS:
        raise ValidationError("checks", f"must be a list of at most {MAX_CHECKS} checks")
    for i, check in enumerate(checks):
        if (
            not isinstance(check, dict)
            or check.get("verdict") not in VERDICTS
            or not isinstance(check.get("name"), str)
            or not isinstance(check.get("measured", {}), dict)
        ):
            raise ValidationError(f"checks[{i}]", "must be {name, verdict, message, measured}")
    action = p.get("action", "block")
    if action not in ("block", "warn"):
        raise ValidationError("action", "must be block or warn")
    return {
        "gate": _text(p, "gate", 64),
        "label": _text(p, "label", 200),
        "digest": _digest(p),
        "verdict": verdict,
        "checks": checks,
        "policy_digest": _text(p, "policy_digest", 80),
        "action": action,
    }


def _validate_owner(p: Mapping[str, Any]) -> dict[str, Any]:
    return {"target": _text(p, "target", 400), "owner": _text(p, "owner", 200)}


def _validate_licence(p: Mapping[str, Any]) -> dict[str, Any]:
    from .licences import validate_licence

    return {"digest": _digest(p), "licence": validate_licence(p.get("licence", ""))}


def _validate_source(p: Mapping[str, Any]) -> dict[str, Any]:
    return {"digest": _digest(p), "source": _text(p, "source", 2000)}


def _artifact_ref(p: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return (("artifact", p["digest"]),)


def _owner_ref(p: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return (("artifact", p["target"]),) if p["target"].startswith("sha256:") else ()


GATE_EVALUATED_SPEC = register_event(
    EventSpec(GATE_EVALUATED, _validate_evaluation, references=_artifact_ref, projections=("gates",))
)
OWNER_SET_SPEC = register_event(
    EventSpec(OWNER_SET, _validate_owner, references=_owner_ref, projections=("gates",))
)
LICENCE_RECORDED_SPEC = register_event(
    EventSpec(LICENCE_RECORDED, _validate_licence, references=_artifact_ref, projections=("gates",))
)
SOURCE_RECORDED_SPEC = register_event(
    EventSpec(SOURCE_RECORDED, _validate_source, references=_artifact_ref, projections=("gates",))
)


def _tables() -> list[Table]:
    from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, Text

    md = MetaData()
    return [
        Table(
            "gate_evaluations",
            md,
            Column("seq", BigInteger, primary_key=True, autoincrement=False),
            Column("digest", String(80), nullable=False),
            Column("gate", String(64), nullable=False),
            Column("label", String(200), nullable=False),
            Column("verdict", String(8), nullable=False),
            Column("action", String(8), nullable=False),
            Column("policy_digest", String(80), nullable=False),
            Column("checks", Text, nullable=False),
            Column("at", String(40), nullable=False),
            Column("actor", Text),
            Index("gate_evaluations_digest", "digest"),
        ),
        Table(
            "artifact_owners",
            md,
            Column("target", String(400), primary_key=True),
            Column("owner", String(200), nullable=False),
            Column("seq", BigInteger, nullable=False),
        ),
        Table(
            "artifact_licences",
            md,
            Column("digest", String(80), primary_key=True),
            Column("licence", String(400), nullable=False),
            Column("seq", BigInteger, nullable=False),
            # the artifact's lineage node: propagation reads licences as node ids in one table scan
            Column("node_id", Integer, nullable=False),
        ),
        Table(
            "artifact_sources",
            md,
            Column("digest", String(80), primary_key=True),
            Column("source", Text, nullable=False),
            Column("seq", BigInteger, nullable=False),
        ),
    ]


class GatesProjection(Projection):
    """Owns the evaluations and the latest owner, licence and source of each target."""

    name = "gates"
    tables = ("gate_evaluations", "artifact_owners", "artifact_licences", "artifact_sources")

    @classmethod
    def schema(cls) -> Sequence[Table]:
        return _tables()

    def handlers(self) -> dict[str, Any]:
        return {
            GATE_EVALUATED: self._evaluated,
            OWNER_SET: self._owner,
            LICENCE_RECORDED: self._licence,
            SOURCE_RECORDED: self._source,
        }

    def _artifact(self, digest: str) -> int:
        """The artifact's node id; it must be recorded."""
        node: int = self.writer.projection("artifacts").node_of(digest, "digest")
        return node

    def _evaluated(self, e: StoredEvent, p: dict[str, Any]) -> None:
        self._artifact(p["digest"])
        self.writer.execute(
            "INSERT INTO gate_evaluations (seq, digest, gate, label, verdict, action, policy_digest, checks, "
            "at, "
            "actor) VALUES (:s, :d, :g, :l, :v, :a, :p, :c, :t, :u)",
            {
                "s": e.seq,
                "d": p["digest"],
                "g": p["gate"],
                "l": p["label"],
                "v": p["verdict"],
                "a": p["action"],
                "p": p["policy_digest"],
                "c": json.dumps(p["checks"], sort_keys=True),
                "t": e.ts,
                "u": e.actor,
            },
        )

    def _upsert(self, table: str, key: str, column: str, key_value: str, value: str, seq: int) -> None:
        params = {"k": key_value, "v": value, "s": seq}
        if self.writer.one(f"SELECT 1 FROM {table} WHERE {key} = :k", {"k": key_value}):
            self.writer.execute(f"UPDATE {table} SET {column} = :v, seq = :s WHERE {key} = :k", params)
        else:
            self.writer.execute(f"INSERT INTO {table} ({key}, {column}, seq) VALUES (:k, :v, :s)", params)

    def _owner(self, e: StoredEvent, p: dict[str, Any]) -> None:
        if p["target"].startswith("sha256:"):
            self._artifact(p["target"])
        self._upsert("artifact_owners", "target", "owner", p["target"], p["owner"], e.seq)

    def _licence(self, e: StoredEvent, p: dict[str, Any]) -> None:
        params = {"d": p["digest"], "l": p["licence"], "s": e.seq, "n": self._artifact(p["digest"])}
        if self.writer.one("SELECT 1 FROM artifact_licences WHERE digest = :d", {"d": p["digest"]}):
            self.writer.execute(
                "UPDATE artifact_licences SET licence = :l, seq = :s WHERE digest = :d", params
            )
        else:
            self.writer.execute(
                "INSERT INTO artifact_licences (digest, licence, seq, node_id) VALUES (:d, :l, :s, :n)",
                params,
            )

    def _source(self, e: StoredEvent, p: dict[str, Any]) -> None:
        self._artifact(p["digest"])
        self._upsert("artifact_sources", "digest", "source", p["digest"], p["source"], e.seq)


register_projection(GatesProjection)
