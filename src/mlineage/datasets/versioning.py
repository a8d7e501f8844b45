"""Semantic versions of a name: looking one up (``name@1.4.0``), proposing the next from a diff, and the
events that record a version (with its profile) and a rollback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError, ValidationError
from .records import records_for
from .semver import FIRST, bump, later, parse

if TYPE_CHECKING:
    from ..events import NewEvent
    from ..stores.protocol import MetadataStore
    from .model import DatasetDiff


def version_number(store: MetadataStore, name: str, semver: str) -> int:
    """The ledger version (``name@N``) that was given semantic version ``semver``."""
    parse(semver)
    rows = records_for(store).versions(name)
    for row in rows:
        if row["semver"] == semver and row["version"] is not None:
            return int(row["version"])
    if not rows:
        raise NotFoundError(
            f"{name} has no semantic versions (`mlineage add --semver` gives them; "
            f"`mlineage versions {name}` lists its versions)"
        )
    shown = ", ".join(r["semver"] for r in rows[-20:])
    raise NotFoundError(
        f"{name} has no version {semver}: its semantic versions are {shown} "
        f"(`mlineage versions {name}` lists them)"
    )


def semver_of(rows: list[dict[str, Any]], digest: str) -> str | None:
    """The latest semantic version given to ``digest`` among a name's rows."""
    found = [r["semver"] for r in rows if r["digest"] == digest]
    return found[-1] if found else None


@dataclass
class Proposal:
    """What ``add --semver`` records for one new version."""

    name: str
    digest: str
    version: int | None
    semver: str
    proposed: str
    level: str
    reasons: list[str]
    overridden: bool
    previous: dict[str, Any] | None
    summary: dict[str, Any]

    def event(self) -> NewEvent:
        from ..events import NewEvent
        from .events import DATASET_VERSIONED

        return NewEvent(
            DATASET_VERSIONED,
            {
                "name": self.name,
                "digest": self.digest,
                "version": self.version,
                "semver": self.semver,
                "proposed": self.proposed,
                "level": self.level,
                "reasons": self.reasons,
                "overridden": self.overridden,
                "previous": self.previous,
                "summary": self.summary,
            },
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "digest": self.digest,
            "version": self.version,
            "semver": self.semver,
            "proposed": self.proposed,
            "level": self.level,
            "reasons": self.reasons,
            "overridden": self.overridden,
            "previous": self.previous,
            "summary": self.summary,
        }


def summary_of(diff: DatasetDiff | None) -> dict[str, Any]:
    """The few numbers a version event keeps of its diff."""
    if diff is None:
        return {}
    out: dict[str, Any] = {"kind": diff.kind}
    if diff.table is not None:
        r, s = diff.table.rows, diff.table.schema
        out.update(
            rows=r.rows_b,
            rows_added=r.added,
            rows_removed=r.removed,
            rows_changed=r.changed,
            columns_added=len(s.added),
            columns_removed=len(s.removed),
            columns_renamed=len(s.renamed),
            types_changed=len(s.types),
        )
    elif diff.folder is not None:
        f = diff.folder
        out.update(files_added=len(f.added), files_removed=len(f.removed), files_modified=len(f.modified))
    return out


def propose(
    name: str,
    digest: str,
    version: int | None,
    rows: list[dict[str, Any]],
    previous: dict[str, Any] | None,
    diff: DatasetDiff | None,
    override: str | None,
) -> Proposal:
    """The semantic version of a new version of ``name``: the next after the name's latest one, by the
    diff's level (1.0.0 for a first version, and for the first one given after versions without any).
    ``override`` is kept instead, and the record says it was."""
    latest = rows[-1]["semver"] if rows else None
    if previous is None:
        level, reasons, base = "initial", ["initial: first version of this name"], None
    else:
        assert diff is not None
        level, reasons = diff.verdict.level, list(diff.verdict.reasons)
        base = latest or FIRST
        if not latest:
            reasons.append(
                f"compared with {name}@{previous.get('version')}, which had no semantic version "
                f"(taken as {FIRST})"
            )
    proposed = bump(base, level) if previous is not None else FIRST
    if level == "none" and previous is not None:
        proposed = bump(base, "patch")
        reasons.append("patch: the content is the same; a new version needs a new number")
    semver = proposed
    if override is not None:
        parse(override)
        if any(r["semver"] == override for r in rows):
            raise ValidationError(
                "version", f"{name}@{override} is already recorded", f"choose a version after {latest}"
            )
        if latest and not later(override, latest):
            raise ValidationError(
                "version",
                f"{override} does not come after {name}'s latest version {latest}",
                f"choose a version after {latest}",
            )
        semver = override
    return Proposal(
        name,
        digest,
        version,
        semver,
        proposed,
        level,
        reasons,
        semver != proposed,
        previous,
        summary_of(diff),
    )


def profiled_event(digest: str, profile_digest: str, rows: int, columns: int) -> NewEvent:
    from ..events import NewEvent
    from .events import DATASET_PROFILED

    return NewEvent(
        DATASET_PROFILED, {"digest": digest, "profile": profile_digest, "rows": rows, "columns": columns}
    )


def rollback_event(name: str, old: dict[str, Any] | None, to: dict[str, Any], reason: str) -> NewEvent:
    from ..events import NewEvent
    from .events import DATASET_ROLLED_BACK

    return NewEvent(DATASET_ROLLED_BACK, {"name": name, "from": old, "to": to, "reason": reason})
