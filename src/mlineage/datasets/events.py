"""The ledger side of dataset versions: three event types and the projections that fold them.

* ``DatasetVersioned``: a version of a name got a semantic version -- the proposed one, the one kept (an
  override says so), the level and its reasons, and the version it was compared with; it references both
  artifacts. Projected into ``dataset_versions`` (unique per name and semantic version).
* ``DatasetProfiled``: a version's profile, a small content-addressed blob (``profile.py``), by digest;
  projected into ``dataset_profiles`` (the latest profile of each digest).
* ``DatasetRolledBack``: a name was put back to an earlier version, by whom (the event's actor), why, from
  which version to which; projected into ``dataset_rollbacks`` so the history shows it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..catalogue import EventSpec, register_event
from ..errors import ValidationError
from ..model import Digest
from ..stores.projections import Projection, register_projection
from .semver import LEVELS, is_semver

if TYPE_CHECKING:
    from sqlalchemy import Table

    from ..events import StoredEvent

DATASET_VERSIONED = "DatasetVersioned"
DATASET_PROFILED = "DatasetProfiled"
DATASET_ROLLED_BACK = "DatasetRolledBack"
_MAX_REASONS = 200


def _name(p: Mapping[str, Any], key: str = "name") -> str:
    value = p.get(key)
    if not isinstance(value, str) or not value or len(value) > 512:
        raise ValidationError(key, "must be a name (a non-empty string of at most 512 characters)")
    return value


def _digest(p: Mapping[str, Any], key: str) -> str:
    value = p.get(key)
    if not isinstance(value, str):
        raise ValidationError(key, "must be a digest (sha256:<64 hex digits>)")
    return str(Digest.parse(value))


def _semver(value: Any, key: str) -> str:
    if not isinstance(value, str) or not is_semver(value):
        raise ValidationError(key, f"{value!r} is not a semantic version", "write MAJOR.MINOR.PATCH")
    return value


def _version_ref(value: Any, key: str) -> dict[str, Any] | None:
    """``{"digest", "version", "semver"}`` naming one version (None allowed where there is none)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValidationError(key, "must be an object with digest, version and semver")
    version = value.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
        raise ValidationError(f"{key}.version", "must be a positive integer")
    semver = value.get("semver")
    return {
        "digest": _digest(value, "digest"),
        "version": version,
        "semver": None if semver is None else _semver(semver, f"{key}.semver"),
    }


def _small_json(value: Any, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or len(json.dumps(value)) > 16_384:
        raise ValidationError(key, "must be an object of at most 16 KiB")
    return dict(value)


def _validate_versioned(p: Mapping[str, Any]) -> dict[str, Any]:
    reasons = p.get("reasons", [])
    if (
        not isinstance(reasons, list)
        or len(reasons) > _MAX_REASONS
        or not all(isinstance(r, str) and len(r) <= 1000 for r in reasons)
    ):
        raise ValidationError("reasons", f"must be a list of at most {_MAX_REASONS} strings")
    level = p.get("level")
    if level not in LEVELS and level != "initial":
        raise ValidationError("level", f"{level!r} is not one of {', '.join(LEVELS)}, initial")
    overridden = p.get("overridden", False)
    if not isinstance(overridden, bool):
        raise ValidationError("overridden", "must be true or false")
    version = p.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
        raise ValidationError("version", "must be a positive integer")
    return {
        "name": _name(p),
        "digest": _digest(p, "digest"),
        "version": version,
        "semver": _semver(p.get("semver"), "semver"),
        "proposed": _semver(p.get("proposed"), "proposed"),
        "level": level,
        "reasons": list(reasons),
        "overridden": overridden,
        "previous": _version_ref(p.get("previous"), "previous"),
        "summary": _small_json(p.get("summary"), "summary"),
    }


def _validate_profiled(p: Mapping[str, Any]) -> dict[str, Any]:
    rows, columns = p.get("rows"), p.get("columns")
    for key, value in (("rows", rows), ("columns", columns)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValidationError(key, "must be a count (an integer >= 0)")
    return {
        "digest": _digest(p, "digest"),
        "profile": _digest(p, "profile"),
        "rows": rows,
        "columns": columns,
    }


def _validate_rolled_back(p: Mapping[str, Any]) -> dict[str, Any]:
    reason = p.get("reason") or ""
    if not isinstance(reason, str) or len(reason) > 2000:
        raise ValidationError("reason", "must be a string of at most 2000 characters")
    to = _version_ref(p.get("to"), "to")
    if to is None:
        raise ValidationError("to", "is required: the version rolled back to")
    return {"name": _name(p), "from": _version_ref(p.get("from"), "from"), "to": to, "reason": reason}


def _refs(*keys: str) -> Any:
    def references(p: dict[str, Any]) -> list[tuple[str, str]]:
        out = []
        for key in keys:
            value = p.get(key)
            digest = value.get("digest") if isinstance(value, dict) else value
            if isinstance(digest, str):
                out.append(("artifact", digest))
        return out

    return references


DATASET_VERSIONED_SPEC = register_event(
    EventSpec(
        DATASET_VERSIONED,
        _validate_versioned,
        references=_refs("digest", "previous"),
        projections=("dataset_versions",),
    )
)
DATASET_PROFILED_SPEC = register_event(
    EventSpec(
        DATASET_PROFILED, _validate_profiled, references=_refs("digest"), projections=("dataset_profiles",)
    )
)
DATASET_ROLLED_BACK_SPEC = register_event(
    EventSpec(
        DATASET_ROLLED_BACK,
        _validate_rolled_back,
        redact=("reason",),
        references=_refs("to", "from"),
        projections=("dataset_rollbacks",),
    )
)


def _tables() -> dict[str, Table]:
    from sqlalchemy import BigInteger, Boolean, Column, Integer, MetaData, String, Table, Text

    md = MetaData()
    return {
        "dataset_versions": Table(
            "dataset_versions",
            md,
            Column("name", String(512), primary_key=True),
            Column("semver", String(64), primary_key=True),
            Column("digest", String(80), nullable=False),
            Column("version", Integer),
            Column("proposed", String(64), nullable=False),
            Column("level", String(16), nullable=False),
            Column("overridden", Boolean, nullable=False),
            Column("reasons", Text, nullable=False),
            Column("previous_digest", String(80)),
            Column("previous_semver", String(64)),
            Column("summary", Text, nullable=False),
            Column("seq", BigInteger, nullable=False),
        ),
        "dataset_profiles": Table(
            "dataset_profiles",
            md,
            Column("digest", String(80), primary_key=True),
            Column("profile", String(80), nullable=False),
            Column("rows", BigInteger, nullable=False),
            Column("columns", Integer, nullable=False),
            Column("seq", BigInteger, nullable=False),
        ),
        "dataset_rollbacks": Table(
            "dataset_rollbacks",
            md,
            Column("seq", BigInteger, primary_key=True),
            Column("name", String(512), nullable=False),
            Column("from_digest", String(80)),
            Column("from_version", Integer),
            Column("from_semver", String(64)),
            Column("to_digest", String(80), nullable=False),
            Column("to_version", Integer),
            Column("to_semver", String(64)),
            Column("reason", Text, nullable=False),
            Column("actor", String(256)),
            Column("ts", String(40), nullable=False),
        ),
    }


def _needs_artifact(writer: Any, digest: str, field: str) -> None:
    writer.projection("artifacts").node_of(digest, field)


class DatasetVersionsProjection(Projection):
    """Owns ``dataset_versions``: one row per (name, semantic version)."""

    name = "dataset_versions"
    tables = ("dataset_versions",)

    @classmethod
    def schema(cls) -> Sequence[Table]:
        return [_tables()["dataset_versions"]]

    def handlers(self) -> dict[str, Any]:
        return {DATASET_VERSIONED: self._versioned}

    def _versioned(self, e: StoredEvent, p: dict[str, Any]) -> None:
        _needs_artifact(self.writer, p["digest"], "digest")
        if self.writer.one(
            "SELECT 1 FROM dataset_versions WHERE name = :n AND semver = :s",
            {"n": p["name"], "s": p["semver"]},
        ):
            raise ValidationError(
                "semver", f"{p['name']}@{p['semver']} is already recorded", "choose another version number"
            )
        previous = p.get("previous") or {}
        self.writer.execute(
            "INSERT INTO dataset_versions (name, semver, digest, version, proposed, level, overridden,"
            " reasons, previous_digest, previous_semver, summary, seq)"
            " VALUES (:n, :s, :d, :v, :p, :l, :o, :r, :pd, :ps, :sm, :seq)",
            {
                "n": p["name"],
                "s": p["semver"],
                "d": p["digest"],
                "v": p.get("version"),
                "p": p["proposed"],
                "l": p["level"],
                "o": bool(p["overridden"]),
                "r": json.dumps(p["reasons"]),
                "pd": previous.get("digest"),
                "ps": previous.get("semver"),
                "sm": json.dumps(p.get("summary") or {}, sort_keys=True),
                "seq": e.seq,
            },
        )


class DatasetProfilesProjection(Projection):
    """Owns ``dataset_profiles``: the latest profile of each dataset digest."""

    name = "dataset_profiles"
    tables = ("dataset_profiles",)

    @classmethod
    def schema(cls) -> Sequence[Table]:
        return [_tables()["dataset_profiles"]]

    def handlers(self) -> dict[str, Any]:
        return {DATASET_PROFILED: self._profiled}

    def _profiled(self, e: StoredEvent, p: dict[str, Any]) -> None:
        _needs_artifact(self.writer, p["digest"], "digest")
        params = {"d": p["digest"], "p": p["profile"], "r": p["rows"], "c": p["columns"], "s": e.seq}
        if self.writer.one("SELECT 1 FROM dataset_profiles WHERE digest = :d", {"d": p["digest"]}):
            self.writer.execute(
                "UPDATE dataset_profiles SET profile = :p, rows = :r, columns = :c, seq = :s "
                "WHERE digest = :d",
                params,
            )
        else:
            self.writer.execute(
                "INSERT INTO dataset_profiles (digest, profile, rows, columns, seq) "
                "VALUES (:d, :p, :r, :c, :s)",
                params,
            )


class DatasetRollbacksProjection(Projection):
    """Owns ``dataset_rollbacks``: every rollback, in ledger order."""

    name = "dataset_rollbacks"
    tables = ("dataset_rollbacks",)

    @classmethod
    def schema(cls) -> Sequence[Table]:
        return [_tables()["dataset_rollbacks"]]

    def handlers(self) -> dict[str, Any]:
        return {DATASET_ROLLED_BACK: self._rolled_back}

    def _rolled_back(self, e: StoredEvent, p: dict[str, Any]) -> None:
        to, old = p["to"], p.get("from") or {}
        _needs_artifact(self.writer, to["digest"], "to.digest")
        self.writer.execute(
            "INSERT INTO dataset_rollbacks (seq, name, from_digest, from_version, from_semver, to_digest, "
            "to_version, to_semver, reason, actor, ts) VALUES (:seq, :n, :fd, :fv, :fs, :td, :tv, :ts_, :r, "
            ":a, :ts)",
            {
                "seq": e.seq,
                "n": p["name"],
                "fd": old.get("digest"),
                "fv": old.get("version"),
                "fs": old.get("semver"),
                "td": to["digest"],
                "tv": to.get("version"),
                "ts_": to.get("semver"),
                "r": p.get("reason") or "",
                "a": e.actor,
                "ts": e.ts,
            },
        )


for _projection in (DatasetVersionsProjection, DatasetProfilesProjection, DatasetRollbacksProjection):
    register_projection(_projection)
