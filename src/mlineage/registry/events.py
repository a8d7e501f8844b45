"""The registry's event types and its projection.

* ``ModelRegistered``: a model (by digest) becomes ``NAME@N`` (and a semver if given). The projection refuses
  a version that is not the name's next one, so two racing registrations cannot both be ``@N``.
* ``ModelDeployed``: a registry version went to an endpoint in an environment. The deployment is also a run
  of the registered kind ``deploy`` that used the model's digest, so an endpoint is a node of the lineage
  graph and ``impact`` from a bad dataset reaches it.
* ``AliasSet`` / ``AliasRemoved``: an alias moves, carrying the target the writer saw (``expected``, None when
  it saw the alias unset). The projection refuses a mismatch inside the writer's transaction: compare-and-set,
  so of two racing promotions one wins and the other gets ``AliasConflictError``, and nothing interleaves.

* ``ModelApprovalChanged``: a version's approval state (pending, approved, rejected) with who and why.
* ``IncidentOpened`` / ``IncidentClosed``: a bad artifact and the resolution.
* ``ErasureRequested`` / ``ErasureDecided`` / ``ErasureClosed``: an erasure (``erasures.py``), a decision per
  affected model, and its closure, which the projection refuses while a model has no decision.

Tables: ``registry_versions`` (immutable versions), ``registry_aliases`` (each alias's current target),
``registry_moves`` (every move: from, to, who, when, why, which gates, whether forced),
``registry_deployments`` (each endpoint's history), ``registry_incidents``, ``registry_approvals`` (every
approval change), ``registry_erasures`` and ``registry_erasure_decisions``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..catalogue import EventSpec, register_event, register_run_kind
from ..errors import AliasConflictError, NotFoundError, ValidationError
from ..stores.projections import Projection, register_projection
from .model import check_alias, check_name, check_semver

if TYPE_CHECKING:
    from sqlalchemy import Table

    from ..events import StoredEvent

MODEL_REGISTERED = "ModelRegistered"
ALIAS_SET = "AliasSet"
ALIAS_REMOVED = "AliasRemoved"
MODEL_DEPLOYED = "ModelDeployed"
INCIDENT_OPENED = "IncidentOpened"
INCIDENT_CLOSED = "IncidentClosed"
APPROVAL_CHANGED = "ModelApprovalChanged"
APPROVAL_STATES = ("pending", "approved", "rejected")
ERASURE_REQUESTED = "ErasureRequested"
ERASURE_DECIDED = "ErasureDecided"
ERASURE_CLOSED = "ErasureClosed"
ERASURE_DECISIONS = ("retrain", "unlearn", "accept")
DEPLOY = register_run_kind("deploy")


def _version(p: Mapping[str, Any], field: str, optional: bool = False) -> int | None:
    value = p.get(field)
    if value is None and optional:
        return None
    if type(value) is not int or value < 1:
        raise ValidationError(field, "must be a registry version number (1, 2, ...)")
    return value


def _digest(p: Mapping[str, Any]) -> str:
    from ..model import Digest

    return str(Digest.parse(str(p.get("digest"))))


def _reason(p: Mapping[str, Any]) -> str:
    reason = p.get("reason") or ""
    if not isinstance(reason, str) or len(reason) > 2000:
        raise ValidationError("reason", "must be text of at most 2000 characters")
    return reason


def _registered(p: Mapping[str, Any]) -> dict[str, Any]:
    out = {"name": check_name(p.get("name")), "version": _version(p, "version"),  # type: ignore[arg-type]
           "digest": _digest(p)}
    semver = check_semver(p.get("semver"))
    if semver is not None:
        out["semver"] = semver
    return out


def _gates(p: Mapping[str, Any]) -> list[dict[str, str]]:
    gates = p.get("gates") or []
    if not isinstance(gates, list) or not all(
        isinstance(g, dict) and all(isinstance(g.get(k), str) for k in ("gate", "label", "verdict"))
        for g in gates
    ):
        raise ValidationError("gates", "must be a list of {gate, label, verdict}")
    return [{k: g[k] for k in ("gate", "label", "verdict")} for g in gates]


def _alias_set(p: Mapping[str, Any]) -> dict[str, Any]:
    out = {"name": check_name(p.get("name")), "alias": check_alias(p.get("alias")),  # type: ignore[arg-type]
           "version": _version(p, "version"), "digest": _digest(p),
           "expected": _version(p, "expected", optional=True), "reason": _reason(p), "gates": _gates(p),
           "override": bool(p.get("override", False))}
    if out["override"] and not out["reason"]:
        raise ValidationError("reason", "an override needs a reason", "pass --reason")
    return out


def _alias_removed(p: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": check_name(p.get("name")), "alias": check_alias(p.get("alias")),  # type: ignore[arg-type]
            "expected": _version(p, "expected"), "reason": _reason(p)}


register_event(EventSpec(MODEL_REGISTERED, _registered, references=lambda p: (("artifact", p["digest"]),),
                         projections=("registry",)))
register_event(EventSpec(ALIAS_SET, _alias_set, references=lambda p: (("artifact", p["digest"]),),
                         projections=("registry",)))
register_event(EventSpec(ALIAS_REMOVED, _alias_removed, projections=("registry",)))


def _deployed(p: Mapping[str, Any]) -> dict[str, Any]:
    endpoint, env, run_id = p.get("endpoint"), p.get("env"), p.get("run_id")
    for field, value in (("endpoint", endpoint), ("env", env), ("run_id", run_id)):
        if not isinstance(value, str) or not value or len(value) > 128:
            raise ValidationError(field, "must be a non-empty string of at most 128 characters")
    alias = p.get("alias")
    return {"endpoint": endpoint, "env": env, "name": check_name(p.get("name")),  # type: ignore[arg-type]
            "version": _version(p, "version"), "digest": _digest(p), "run_id": run_id,
            "alias": None if alias is None else check_alias(alias), "reason": _reason(p)}


register_event(EventSpec(MODEL_DEPLOYED, _deployed,
                         references=lambda p: (("artifact", p["digest"]), ("run", p["run_id"])),
                         projections=("registry",)))


def _incident_id(p: Mapping[str, Any], field: str = "incident_id") -> str:
    value = p.get(field)
    if not isinstance(value, str) or not value or len(value) > 64:
        raise ValidationError(field, "must be an id (a non-empty string of at most 64)")
    return value


def _incident_opened(p: Mapping[str, Any]) -> dict[str, Any]:
    return {"incident_id": _incident_id(p), "digest": _digest(p), "reason": _reason(p)}


def _incident_closed(p: Mapping[str, Any]) -> dict[str, Any]:
    resolution = p.get("resolution")
    if not isinstance(resolution, str) or not resolution or len(resolution) > 2000:
        raise ValidationError("resolution", "must say how it was resolved (at most 2000 characters)")
    return {"incident_id": _incident_id(p), "resolution": resolution}


register_event(EventSpec(INCIDENT_OPENED, _incident_opened, references=lambda p: (("artifact", p["digest"]),),
                         projections=("registry",)))
register_event(EventSpec(INCIDENT_CLOSED, _incident_closed, projections=("registry",)))


def _approval(p: Mapping[str, Any]) -> dict[str, Any]:
    state = p.get("state")
    if state not in APPROVAL_STATES:
        raise ValidationError("state", f"{state!r} is not an approval state",
                              "one of " + ", ".join(APPROVAL_STATES))
    return {"name": check_name(p.get("name")), "version": _version(p, "version"),  # type: ignore[arg-type]
            "state": state, "reason": _reason(p)}


register_event(EventSpec(APPROVAL_CHANGED, _approval, projections=("registry",)))


def _strings(p: Mapping[str, Any], field: str, max_items: int = 100_000) -> list[str]:
    value = p.get(field) or []
    if not isinstance(value, list) or len(value) > max_items or not all(
            isinstance(x, str) and 0 < len(x) <= 256 for x in value):
        raise ValidationError(field, "must be a list of short strings")
    return list(value)


def _erasure_requested(p: Mapping[str, Any]) -> dict[str, Any]:
    erased = p.get("erased_seqs") or []
    if not isinstance(erased, list) or not all(type(x) is int and x > 0 for x in erased):
        raise ValidationError("erased_seqs", "must be a list of event seqs")
    authorised = p.get("authorised_by")
    if not isinstance(authorised, str) or not authorised or len(authorised) > 500:
        raise ValidationError("authorised_by", "must say who authorised the erasure")
    out = {"erasure_id": _incident_id(p, "erasure_id"), "digest": _digest(p), "reason": _reason(p),
           "authorised_by": authorised, "erased_seqs": erased, "blobs": _strings(p, "blobs"),
           "affected": _strings(p, "affected")}
    if not out["reason"]:
        raise ValidationError("reason", "an erasure needs a reason", "pass --reason")
    return out


def _erasure_decided(p: Mapping[str, Any]) -> dict[str, Any]:
    decision, model = p.get("decision"), p.get("model")
    if decision not in ERASURE_DECISIONS:
        raise ValidationError("decision", f"{decision!r} is not a decision",
                              "one of " + ", ".join(ERASURE_DECISIONS))
    if not isinstance(model, str) or not model or len(model) > 256:
        raise ValidationError("model", "must name an affected model (NAME@N or a digest)")
    out = {"erasure_id": _incident_id(p, "erasure_id"), "model": model, "decision": decision,
           "reason": _reason(p)}
    if decision == "accept" and not out["reason"]:
        raise ValidationError("reason", "accepting a model that learnt from erased data needs a reason",
                              "pass --reason")
    return out


def _erasure_closed(p: Mapping[str, Any]) -> dict[str, Any]:
    resolution = p.get("resolution")
    if not isinstance(resolution, str) or not resolution or len(resolution) > 2000:
        raise ValidationError("resolution", "must say how it was resolved (at most 2000 characters)")
    return {"erasure_id": _incident_id(p, "erasure_id"), "resolution": resolution}


register_event(EventSpec(ERASURE_REQUESTED, _erasure_requested,
                         references=lambda p: (("artifact", p["digest"]),), projections=("registry",)))
register_event(EventSpec(ERASURE_DECIDED, _erasure_decided, projections=("registry",)))
register_event(EventSpec(ERASURE_CLOSED, _erasure_closed, projections=("registry",)))


def _tables() -> list[Table]:
    from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text

    md = MetaData()
    return [
        Table("registry_versions", md, Column("name", String(128), primary_key=True),
              Column("version", Integer, primary_key=True), Column("digest", String(71), nullable=False),
              Column("semver", String(64)), Column("actor", String(256)), Column("ts", String(40)),
              Column("seq", BigInteger, nullable=False)),
        Table("registry_aliases", md, Column("name", String(128), primary_key=True),
              Column("alias", String(64), primary_key=True), Column("version", Integer, nullable=False),
              Column("digest", String(71), nullable=False), Column("seq", BigInteger, nullable=False)),
        Table("registry_moves", md, Column("seq", BigInteger, primary_key=True),
              Column("name", String(128), nullable=False, index=True),
              Column("alias", String(64), nullable=False),
              Column("from_version", Integer), Column("to_version", Integer), Column("to_digest", String(71)),
              Column("reason", Text, nullable=False), Column("gates", Text, nullable=False),
              Column("override", Integer, nullable=False), Column("actor", String(256)),
              Column("ts", String(40), nullable=False)),
        Table("registry_deployments", md, Column("seq", BigInteger, primary_key=True),
              Column("endpoint", String(128), nullable=False, index=True),
              Column("env", String(128), nullable=False), Column("name", String(128), nullable=False),
              Column("version", Integer, nullable=False), Column("digest", String(71), nullable=False),
              Column("alias", String(64)), Column("run_id", String(128), nullable=False),
              Column("reason", Text, nullable=False), Column("actor", String(256)),
              Column("ts", String(40), nullable=False)),
        Table("registry_incidents", md, Column("id", String(64), primary_key=True),
              Column("digest", String(71), nullable=False), Column("reason", Text, nullable=False),
              Column("actor", String(256)), Column("ts", String(40), nullable=False),
              Column("seq", BigInteger, nullable=False), Column("resolution", Text),
              Column("closed_by", String(256)), Column("closed_at", String(40))),
        Table("registry_approvals", md, Column("seq", BigInteger, primary_key=True),
              Column("name", String(128), nullable=False, index=True),
              Column("version", Integer, nullable=False),
              Column("state", String(16), nullable=False), Column("reason", Text, nullable=False),
              Column("actor", String(256)), Column("ts", String(40), nullable=False)),
        Table("registry_erasures", md, Column("id", String(64), primary_key=True),
              Column("digest", String(71), nullable=False), Column("reason", Text, nullable=False),
              Column("authorised_by", Text, nullable=False), Column("erased_seqs", Text, nullable=False),
              Column("blobs", Text, nullable=False), Column("affected", Text, nullable=False),
              Column("actor", String(256)), Column("ts", String(40), nullable=False),
              Column("seq", BigInteger, nullable=False), Column("resolution", Text),
              Column("closed_by", String(256)), Column("closed_at", String(40))),
        Table("registry_erasure_decisions", md, Column("seq", BigInteger, primary_key=True),
              Column("erasure_id", String(64), nullable=False, index=True),
              Column("model", String(256), nullable=False), Column("decision", String(16), nullable=False),
              Column("reason", Text, nullable=False), Column("actor", String(256)),
              Column("ts", String(40), nullable=False)),
    ]


def _label(version: int | None) -> str:
    return "unset" if version is None else f"@{version}"


class RegistryProjection(Projection):
    """Owns the ``registry_*`` tables (see the module docstring)."""

    name = "registry"
    tables = ("registry_versions", "registry_aliases", "registry_moves", "registry_deployments",
              "registry_incidents", "registry_approvals", "registry_erasures", "registry_erasure_decisions")

    @classmethod
    def schema(cls) -> Sequence[Table]:
        return _tables()

    def handlers(self) -> dict[str, Any]:
        return {MODEL_REGISTERED: self._registered, ALIAS_SET: self._set, ALIAS_REMOVED: self._removed,
                MODEL_DEPLOYED: self._deployed, INCIDENT_OPENED: self._opened, INCIDENT_CLOSED: self._closed,
                APPROVAL_CHANGED: self._approval, ERASURE_REQUESTED: self._erasure,
                ERASURE_DECIDED: self._erasure_decided, ERASURE_CLOSED: self._erasure_closed}

    def _latest(self, name: str) -> int:
        row = self.writer.one("SELECT MAX(version) FROM registry_versions WHERE name = :n", {"n": name})
        return int(row[0]) if row and row[0] is not None else 0

    def _registered(self, e: StoredEvent, p: dict[str, Any]) -> None:
        latest = self._latest(p["name"])
        if p["version"] != latest + 1:
            raise AliasConflictError(
                f"{p['name']}@{p['version']} cannot be registered: the next version is @{latest + 1} "
                "(another registration came first); register again")
        if not self.writer.one("SELECT 1 FROM artifacts WHERE digest = :d", {"d": p["digest"]}):
            raise NotFoundError(f"artifact {p['digest']} is not recorded: record it before registering it")
        self.writer.execute(
            "INSERT INTO registry_versions (name, version, digest, semver, actor, ts, seq) "
            "VALUES (:n, :v, :d, :s, :a, :t, :q)",
            {"n": p["name"], "v": p["version"], "d": p["digest"], "s": p.get("semver"), "a": e.actor,
             "t": e.ts, "q": e.seq})

    def _current(self, name: str, alias: str) -> int | None:
        row = self.writer.one("SELECT version FROM registry_aliases WHERE name = :n AND alias = :a",
                              {"n": name, "a": alias})
        return int(row[0]) if row else None

    def _compare(self, p: dict[str, Any]) -> int | None:
        current = self._current(p["name"], p["alias"])
        if current != p["expected"]:
            raise AliasConflictError(
                f"{p['name']}@{p['alias']} is {_label(current)} now, not {_label(p['expected'])} as this "
                "move expected: another move came first (`mlineage alias history` shows it); read it and "
                "try again")
        return current

    def _move(self, e: StoredEvent, p: dict[str, Any], before: int | None, to: int | None,
              digest: str | None) -> None:
        self.writer.execute(
            "INSERT INTO registry_moves (seq, name, alias, from_version, to_version, to_digest, reason, "
            "gates, override, actor, ts) VALUES (:q, :n, :a, :f, :v, :d, :r, :g, :o, :u, :t)",
            {"q": e.seq, "n": p["name"], "a": p["alias"], "f": before, "v": to, "d": digest,
             "r": p["reason"], "g": json.dumps(p.get("gates", [])), "o": int(p.get("override", False)),
             "u": e.actor, "t": e.ts})

    def _set(self, e: StoredEvent, p: dict[str, Any]) -> None:
        before = self._compare(p)
        row = self.writer.one("SELECT digest FROM registry_versions WHERE name = :n AND version = :v",
                              {"n": p["name"], "v": p["version"]})
        if not row or row[0] != p["digest"]:
            raise NotFoundError(f"{p['name']}@{p['version']} is not a registered version with that digest")
        params = {"n": p["name"], "a": p["alias"], "v": p["version"], "d": p["digest"], "q": e.seq}
        if before is None:
            self.writer.execute("INSERT INTO registry_aliases (name, alias, version, digest, seq) "
                                "VALUES (:n, :a, :v, :d, :q)", params)
        else:
            self.writer.execute("UPDATE registry_aliases SET version = :v, digest = :d, seq = :q "
                                "WHERE name = :n AND alias = :a", params)
        self._move(e, p, before, p["version"], p["digest"])

    def _removed(self, e: StoredEvent, p: dict[str, Any]) -> None:
        before = self._compare(p)
        self.writer.execute("DELETE FROM registry_aliases WHERE name = :n AND alias = :a",
                            {"n": p["name"], "a": p["alias"]})
        self._move(e, p, before, None, None)

    def _deployed(self, e: StoredEvent, p: dict[str, Any]) -> None:
        self.writer.execute(
            "INSERT INTO registry_deployments (seq, endpoint, env, name, version, digest, alias, run_id, "
            "reason, actor, ts) VALUES (:q, :e, :v, :n, :r, :d, :a, :u, :w, :o, :t)",
            {"q": e.seq, "e": p["endpoint"], "v": p["env"], "n": p["name"], "r": p["version"],
             "d": p["digest"], "a": p["alias"], "u": p["run_id"], "w": p["reason"], "o": e.actor, "t": e.ts})

    def _opened(self, e: StoredEvent, p: dict[str, Any]) -> None:
        if self.writer.one("SELECT 1 FROM registry_incidents WHERE id = :i", {"i": p["incident_id"]}):
            raise AliasConflictError(f"incident {p['incident_id']} is already open")
        self.writer.execute(
            "INSERT INTO registry_incidents (id, digest, reason, actor, ts, seq) "
            "VALUES (:i, :d, :r, :a, :t, :q)",
            {"i": p["incident_id"], "d": p["digest"], "r": p["reason"], "a": e.actor, "t": e.ts, "q": e.seq})

    def _approval(self, e: StoredEvent, p: dict[str, Any]) -> None:
        if not self.writer.one("SELECT 1 FROM registry_versions WHERE name = :n AND version = :v",
                               {"n": p["name"], "v": p["version"]}):
            raise NotFoundError(f"{p['name']}@{p['version']} is not a registered version")
        self.writer.execute(
            "INSERT INTO registry_approvals (seq, name, version, state, reason, actor, ts) "
            "VALUES (:q, :n, :v, :s, :r, :a, :t)",
            {"q": e.seq, "n": p["name"], "v": p["version"], "s": p["state"], "r": p["reason"], "a": e.actor,
             "t": e.ts})

    def _erasure(self, e: StoredEvent, p: dict[str, Any]) -> None:
        self.writer.execute(
            "INSERT INTO registry_erasures (id, digest, reason, authorised_by, erased_seqs, blobs, affected, "
            "actor, ts, seq) VALUES (:i, :d, :r, :w, :e, :b, :f, :a, :t, :q)",
            {"i": p["erasure_id"], "d": p["digest"], "r": p["reason"], "w": p["authorised_by"],
             "e": json.dumps(p["erased_seqs"]), "b": json.dumps(p["blobs"]), "f": json.dumps(p["affected"]),
             "a": e.actor, "t": e.ts, "q": e.seq})

    def _open_erasure(self, erasure_id: str) -> list[str]:
        row = self.writer.one("SELECT affected, resolution FROM registry_erasures WHERE id = :i",
                              {"i": erasure_id})
        if not row:
            raise NotFoundError(f"no erasure {erasure_id}")
        if row[1] is not None:
            raise AliasConflictError(f"erasure {erasure_id} is already closed")
        return list(json.loads(row[0]))

    def _erasure_decided(self, e: StoredEvent, p: dict[str, Any]) -> None:
        if p["model"] not in self._open_erasure(p["erasure_id"]):
            raise NotFoundError(f"{p['model']} is not a model erasure {p['erasure_id']} affects")
        self.writer.execute(
            "INSERT INTO registry_erasure_decisions (seq, erasure_id, model, decision, reason, actor, ts) "
            "VALUES (:q, :i, :m, :d, :r, :a, :t)",
            {"q": e.seq, "i": p["erasure_id"], "m": p["model"], "d": p["decision"], "r": p["reason"],
             "a": e.actor, "t": e.ts})

    def _erasure_closed(self, e: StoredEvent, p: dict[str, Any]) -> None:
        affected = self._open_erasure(p["erasure_id"])
        decided = {r[0] for r in self.writer.execute(
            "SELECT model FROM registry_erasure_decisions WHERE erasure_id = :i", {"i": p["erasure_id"]}
        ).fetchall()}
        open_ = [m for m in affected if m not in decided]
        if open_:
            raise ValidationError("erasure_id", f"erasure {p['erasure_id']} cannot close: no decision yet "
                                  "for " + ", ".join(open_),
                                  "`mlineage erasure decide` each affected model first")
        self.writer.execute(
            "UPDATE registry_erasures SET resolution = :r, closed_by = :a, closed_at = :t WHERE id = :i",
            {"i": p["erasure_id"], "r": p["resolution"], "a": e.actor, "t": e.ts})

    def _closed(self, e: StoredEvent, p: dict[str, Any]) -> None:
        row = self.writer.one("SELECT resolution FROM registry_incidents WHERE id = :i",
                              {"i": p["incident_id"]})
        if not row:
            raise NotFoundError(f"no incident {p['incident_id']} is open")
        if row[0] is not None:
            raise AliasConflictError(f"incident {p['incident_id']} is already closed")
        self.writer.execute(
            "UPDATE registry_incidents SET resolution = :r, closed_by = :a, closed_at = :t WHERE id = :i",
            {"i": p["incident_id"], "r": p["resolution"], "a": e.actor, "t": e.ts})


register_projection(RegistryProjection)


def _named_ref(store: Any, ref: str) -> Any:
    from .service import resolve_ref

    return resolve_ref(store, ref)


def _gate_alias(text: str) -> str | None:
    """The release gate's ``current: alias:fraud-model@production``: the REF itself, which ``refs`` resolves
    through ``_named_ref`` (a bare alias names no model, so it is left to other resolvers)."""
    from .model import split_ref

    return text if split_ref(text) is not None else None


def _plug_in() -> None:
    from ..gates.release import register_alias_resolver
    from ..refhooks import register_named_resolver

    register_named_resolver(_named_ref)
    register_alias_resolver(_gate_alias)


_plug_in()
