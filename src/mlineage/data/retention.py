"""Retention that understands lineage: which recorded objects ``gc --keep-last N`` / ``--older-than`` may
delete, and which it must keep because a registered model version descends from them.

Plain ``gc`` keeps every object the ledger records. A retention rule makes old versions deletable: an
artifact is *expired* when it is not among the newest ``keep_last`` versions of its name (by record order)
and/or was recorded before ``older_than`` (both rules given: both must hold; an artifact without a name is
judged by age only). An expired object is still kept when it is an ancestor of (or is) a registered model
version: deleting it would break that version's provenance (zenml #5165, Pachyderm #1472), so it is listed as
*protected* with the versions, aliases and endpoints that need it. Objects a pointer file names are never
expired. ``plan`` is pure: it takes what the ledger, the registry and the graph say and returns the decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..sdk.client import Client


@dataclass(frozen=True)
class Recorded:
    digest: str
    name: str | None
    ts: datetime
    label: str


@dataclass
class RetentionPlan:
    expired: list[Recorded] = field(default_factory=list)  # goes
    protected: dict[str, list[str]] = field(default_factory=dict)  # digest -> why it stays
    kept: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"expired": [{"digest": r.digest, "label": r.label} for r in self.expired],
                "protected": [{"digest": d, "why": why} for d, why in sorted(self.protected.items())],
                "kept": self.kept}


def plan(recorded: list[Recorded], *, keep_last: int | None, older_than: datetime | None,
         pointed: set[str], needed_by: dict[str, list[str]]) -> RetentionPlan:
    """Split ``recorded`` (in record order, one entry per digest) into expired, protected and kept.
    ``needed_by``: digest -> the registered versions (with aliases, endpoints) whose ancestry holds it."""
    out = RetentionPlan()
    rank: dict[str, int] = {}  # digest -> 0 for its name's newest version, 1 for the one before ...
    by_name: dict[str, list[str]] = {}
    for r in recorded:
        if r.name is not None:
            by_name.setdefault(r.name, []).append(r.digest)
    for digests in by_name.values():
        for i, d in enumerate(reversed(digests)):
            rank.setdefault(d, i)
    for r in recorded:
        rules = []
        if keep_last is not None:
            rules.append(r.name is not None and rank[r.digest] >= keep_last)
        if older_than is not None:
            rules.append(r.ts < older_than)
        if r.digest in pointed or not rules or not all(rules):
            out.kept += 1
        elif r.digest in needed_by:
            out.protected[r.digest] = needed_by[r.digest]
        else:
            out.expired.append(r)
    return out


def recorded_artifacts(client: Client) -> list[Recorded]:
    """Every artifact the ledger records, once per digest (its first record), in record order."""
    from .. import events as ev
    from ..eventtime import parse_event_time

    seen: dict[str, Recorded] = {}
    for event in client.store.iter_events():
        if event.type != ev.ARTIFACT_RECORDED or event.payload is None:
            continue
        digest = str(event.payload["digest"])
        if digest in seen:
            continue
        name = event.payload.get("name")
        version = event.payload.get("version")
        label = digest[:19] if name is None else f"{name}@{version}" if version else str(name)
        seen[digest] = Recorded(digest, name, parse_event_time(event.ts), label)
    return list(seen.values())


def needed_by_models(client: Client) -> dict[str, list[str]]:
    """digest -> why it is protected: each registered model version whose ancestry holds it, with the
    aliases that name that version and the endpoints it was deployed to."""
    from ..model import Artifact
    from ..registry.records import records_for

    everything = records_for(client.store).everything()
    target: dict[tuple[str, str], int | None] = {}  # (name, alias) -> the version it names now
    for m in everything["moves"]:
        target[(m["name"], m["alias"])] = m["to"]
    named: dict[tuple[str, int], list[str]] = {}
    for (name, alias), to in target.items():
        if to is not None:
            named.setdefault((name, int(to)), []).append(alias)
    endpoints: dict[tuple[str, int], set[str]] = {}
    for d in everything["deployments"]:
        endpoints.setdefault((d["name"], d["version"]), set()).add(d["endpoint"])
    out: dict[str, list[str]] = {}
    for v in everything["versions"]:
        key = (v["name"], v["version"])
        why = f"ancestor of {v['name']}@{v['version']} (registered"
        if named.get(key):
            why += "; alias " + ", ".join(sorted(named[key]))
        if endpoints.get(key):
            why += "; deployed to " + ", ".join(sorted(endpoints[key]))
        why += ")"
        digests = {v["digest"]}
        for node in client.trace(v["digest"]).nodes.values():
            if isinstance(node, Artifact):
                digests.add(str(node.digest))
        for d in digests:
            out.setdefault(d, []).append(why)
    return out


def retention_plan(client: Client, *, keep_last: int | None = None, older_than: datetime | None = None
                   ) -> RetentionPlan:
    """The plan for ``client``'s store under a retention rule, with no workspace: no pointer file protects
    anything (what a team server, or ``Client.retention_plan``, sees)."""
    from ..errors import ValidationError

    if keep_last is None and older_than is None:
        raise ValidationError("retention", "give a rule: keep_last, older_than or both")
    if keep_last is not None and keep_last < 1:
        raise ValidationError("keep_last", "must be at least 1")
    return plan(recorded_artifacts(client), keep_last=keep_last, older_than=older_than, pointed=set(),
                needed_by=needed_by_models(client))


def plan_for(client: Client, keep_last: int | None, older_than: datetime | str | None) -> dict[str, Any]:
    """``Client.retention_plan``: the plan as a dict. Against a team server the server computes it (the dry
    run of ``POST /api/v1/admin/gc``, an admin token for every namespace: it reads the whole ledger)."""
    when = cutoff(older_than) if isinstance(older_than, str) else older_than
    if hasattr(client.store, "request"):
        client.store.flush(quiet=True)  # type: ignore[attr-defined]
        body = {"keep_last": keep_last, "older_than": None if when is None else when.isoformat(),
                "dry_run": True}
        return dict(client.store.request("POST", "/admin/gc", json=body))
    return retention_plan(client, keep_last=keep_last, older_than=when).to_dict()


def collect(client: Client, *, keep_last: int | None = None, older_than: datetime | None = None,
            dry_run: bool = True) -> dict[str, Any]:
    """A retention rule applied to ``client``'s artifact store (the team server's ``POST /admin/gc``): the
    plan, and, unless ``dry_run``, the expired blobs removed. A blob goes only when it is an expired
    artifact's (or a member of an expired directory manifest) and nothing else still needs it: no other
    recorded artifact, no member of another recorded manifest, no run's stored code. When unsure, it stays."""
    decided = retention_plan(client, keep_last=keep_last, older_than=older_than)
    expired = {r.digest for r in decided.expired}
    needed, beside, unsure = _still_needed(client, expired)
    candidates: list[str] = sorted(beside)  # the expired versions' profiles go with them
    for digest in sorted(expired):
        candidates.append(digest)
        candidates += _members(client, digest) or []
    # a recorded directory manifest it cannot read may hold any blob: then nothing goes
    doomed = [] if unsure else sorted({d for d in candidates if d not in needed})
    removed: list[str] = []
    remove = getattr(client.blobs, "remove", None)
    if not dry_run and remove is not None:
        from ..model import Digest

        for d in doomed:
            if client.blobs.has(Digest.parse(d)):
                remove(Digest.parse(d))
                removed.append(d)
    return dict(decided.to_dict(), dry_run=dry_run, would_remove=doomed, removed=removed,
                unreadable_manifest=unsure)


def _members(client: Client, digest: str) -> list[str] | None:
    """A directory manifest's member blobs ([] for a file; None for a manifest it cannot read)."""
    from ..errors import NotFoundError, ValidationError
    from ..hashing import parse_manifest
    from ..model import Digest
    from .workspace import MANIFEST_MEDIA_TYPE

    found = client.store.get_artifact(digest)
    if found is None or found.media_type != MANIFEST_MEDIA_TYPE:
        return []
    try:
        with client.blobs.open(Digest.parse(digest)) as handle:
            return [str(e.digest) for e in parse_manifest(handle.read())]
    except (OSError, ValidationError, NotFoundError):
        return None


def _still_needed(client: Client, expired: set[str]) -> tuple[set[str], set[str], bool]:
    """What the ledger still needs once ``expired`` goes: every other recorded artifact with its manifest's
    members and the profiles kept beside it, and what runs' code manifests name
    (``maintenance.ledger_digests``, without a workspace); the profiles kept beside expired versions; and
    whether a kept directory manifest could not be read (its members unknown)."""
    from .. import events as ev
    from .maintenance import content_digests, stored_code_digests

    out: set[str] = set()
    beside: set[str] = set()
    unsure = False
    for event in client.store.iter_events():
        if event.payload is None:
            continue
        if event.payload.get("digest") in expired:
            beside.update(str(d) for d in content_digests(event))
        else:
            out.update(str(d) for d in content_digests(event))
        if event.type == ev.RUN_STARTED:
            out.update(str(d) for d in stored_code_digests(client.blobs, event.payload.get("context") or {}))
        elif event.type == ev.ARTIFACT_RECORDED and event.payload["digest"] not in expired:
            digest = str(event.payload["digest"])
            out.add(digest)
            members = _members(client, digest)
            unsure = unsure or members is None
            out.update(members or [])
    return out, beside, unsure


def cutoff(text: str) -> datetime:
    """``--older-than``: ``30d``, ``12h``, ``45m`` before now, or an RFC 3339 time."""
    import re
    from datetime import UTC, timedelta

    from ..errors import ValidationError

    found = re.fullmatch(r"(\d+)([dhm])", text.strip())
    if found:
        n, unit = int(found.group(1)), found.group(2)
        delta = {"d": timedelta(days=n), "h": timedelta(hours=n), "m": timedelta(minutes=n)}[unit]
        return datetime.now(UTC) - delta
    from ..eventtime import parse_event_time

    try:
        return parse_event_time(text if re.search(r"(Z|[+-]\d\d:\d\d)$", text) else text + "Z", "older_than")
    except ValidationError:
        raise ValidationError("older_than", f"{text!r} is neither an age nor a time", "30d, 12h, 45m or "
                              "2026-01-31T00:00:00Z") from None
