"""Cache maintenance: ``gc`` (remove objects nothing reaches) and ``fsck`` (re-hash every object)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..blobs.protocol import BlobStore
from ..errors import IntegrityError, ValidationError
from ..hashing import hash_many
from ..model import Digest
from .progress import Meter
from .workspace import MANIFEST_MEDIA_TYPE, Workspace, referenced_digests


@dataclass
class GcReport:
    unreachable: list[Digest]
    bytes: int
    removed: bool
    kept: int
    stale_temps: int = 0
    expired: dict[str, str] = field(default_factory=dict)  # digest -> label, under a retention rule
    protected: dict[str, list[str]] = field(default_factory=dict)  # digest -> why a retention rule spared it
    labels: dict[str, str] = field(default_factory=dict)  # digest -> name@version of each protected one

    def to_dict(self) -> dict[str, Any]:
        return {
            "unreachable": [str(d) for d in self.unreachable],
            "bytes": self.bytes,
            "removed": self.removed,
            "kept": self.kept,
            "stale_temps_removed": self.stale_temps,
            "expired": [{"digest": d, "label": label} for d, label in self.expired.items()],
            "protected": [{"digest": d, "label": self.labels.get(d, d[:19]), "why": why}
                          for d, why in sorted(self.protected.items())],
        }


@dataclass
class FsckReport:
    checked: int
    corrupted: list[tuple[Digest, str]] = field(default_factory=list)
    missing: list[Digest] = field(default_factory=list)
    repaired: bool = False

    @property
    def ok(self) -> bool:
        return not self.corrupted and not self.missing

    def to_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "ok": self.ok, "repaired": self.repaired,
                "corrupted": [{"digest": str(d), "actual": a} for d, a in self.corrupted],
                "missing": [str(d) for d in self.missing]}


def ledger_digests(ws: Workspace, skip: frozenset[str] = frozenset()) -> tuple[set[Digest], dict[str, str]]:
    """Every artifact digest the ledger records, with the members of recorded directory manifests; but not
    the artifacts in ``skip`` (expired by a retention rule) nor, through them, their manifests' members.
    Also, in the same pass: the blobs kept beside a skipped artifact (its profile), each with that
    artifact's digest, which go with it."""
    from .. import events as ev

    out: set[Digest] = set()
    beside: dict[str, str] = {}
    manifests = []
    for event in ws.client.store.iter_events():
        if event.type == ev.RUN_STARTED and event.payload is not None:
            out.update(stored_code_digests(ws.cache, event.payload.get("context") or {}))
        kept_beside = content_digests(event)
        if kept_beside and event.payload is not None and event.payload["digest"] in skip:
            beside.update((str(d), event.payload["digest"]) for d in kept_beside)
        else:
            out.update(kept_beside)
        if event.type != ev.ARTIFACT_RECORDED or event.payload is None:
            continue
        if event.payload["digest"] in skip:
            continue
        digest = Digest.parse(event.payload["digest"])
        out.add(digest)
        if event.payload.get("media_type") == MANIFEST_MEDIA_TYPE:
            manifests.append(digest)
    for m in manifests:
        if ws.cache.has(m):
            try:
                out.update(e.digest for e in ws.read_manifest(m))
            except (IntegrityError, ValidationError):
                continue  # fsck reports it; gc keeps what it cannot read
    return out, beside


def content_digests(event: Any) -> set[Digest]:
    """The blobs an event keeps beside an artifact it names (a dataset profile: ``CONTENT_EVENTS``): gc keeps
    them while that artifact is kept, and lets them go with an expired one."""
    from ..registry.erasures import CONTENT_EVENTS

    fields = CONTENT_EVENTS.get(event.type, ())
    if not fields or event.payload is None:
        return set()
    out: set[Digest] = set()
    for f in fields:
        try:
            out.add(Digest.parse(str(event.payload[f])))
        except (KeyError, ValueError):
            continue
    return out


def stored_code_digests(blobs: BlobStore, context: dict[str, Any]) -> set[Digest]:
    """What a run's code manifest names by digest and stores beside it (the uncommitted diff, untracked
    sources): a reproduce needs them, so gc keeps them (here and on a team server's artifact store)."""
    import json

    out: set[Digest] = set()
    git: dict[str, Any] = context["git"] if isinstance(context.get("git"), dict) else {}
    code: dict[str, Any] = context["code"] if isinstance(context.get("code"), dict) else {}
    try:
        if git.get("diff_sha256"):
            out.add(Digest.parse(str(git["diff_sha256"])))
        manifest = Digest.parse(str(code["digest"])) if code.get("digest") else None
        if manifest is not None and blobs.has(manifest):
            with blobs.open(manifest) as handle:
                doc = json.loads(handle.read())
            out.update(Digest.parse(f["digest"]) for f in (doc.get("git") or {}).get("untracked", ()))
    except (ValueError, KeyError, TypeError, OSError):
        pass  # gc keeps what it cannot read; fsck reports a damaged manifest
    return out


def gc(ws: Workspace, *, dry_run: bool = True, workspace_only: bool = False, keep_last: int | None = None,
       older_than: datetime | None = None) -> GcReport:
    """Objects in the cache that no pointer (and, unless ``workspace_only``, no ledger record) reaches.

    ``keep_last`` / ``older_than``: a retention rule (``retention.py``) under which recorded versions expire,
    except those a registered model version descends from (listed as protected, with why)."""
    reachable = referenced_digests(ws)
    expired: dict[str, str] = {}
    protected: dict[str, list[str]] = {}
    labels: dict[str, str] = {}
    if keep_last is not None or older_than is not None:
        if workspace_only:
            raise ValidationError("workspace", "--workspace already ignores the ledger: a retention rule "
                                  "(--keep-last, --older-than) decides which recorded versions go")
        if keep_last is not None and keep_last < 1:
            raise ValidationError("keep_last", "must be at least 1")
        from .retention import needed_by_models, plan, recorded_artifacts

        decided = plan(recorded_artifacts(ws.client), keep_last=keep_last, older_than=older_than,
                       pointed={str(d) for d in reachable}, needed_by=needed_by_models(ws.client))
        expired = {r.digest: _label(ws, r.digest, r.label) for r in decided.expired}
        protected = decided.protected
        labels = {d: _label(ws, d, d[:19]) for d in protected}
    beside: dict[str, str] = {}
    if not workspace_only:
        recorded, beside = ledger_digests(ws, frozenset(expired))
        reachable |= recorded
    present = list(ws.cache.iter_digests())
    unreachable = sorted(d for d in present if d not in reachable)
    expired.update({str(d): f"profile of {expired[beside[str(d)]]}" for d in unreachable if str(d) in beside})
    size = 0
    for d in unreachable:
        try:
            size += ws.cache.path_for(d).stat().st_size
        except FileNotFoundError:
            pass
    stale = 0
    if not dry_run:
        if unreachable:
            ws.statcache.forget_trees()
        for d in unreachable:
            ws.cache.remove(d)
        stale = len(ws.cache.remove_stale_temps())
    kept = len(present) - len(unreachable)
    return GcReport(unreachable, size, not dry_run, kept, stale, expired, protected, labels)


def _label(ws: Workspace, digest: str, fallback: str) -> str:
    found = ws.client.store.get_artifact(digest)
    return found.label if found is not None else fallback


def fsck(ws: Workspace, *, repair: bool = False, quiet: bool = False) -> FsckReport:
    """Re-hash every cache object (several at once) and list the corrupted ones and the referenced missing."""
    present = list(ws.cache.iter_digests())
    paths = [ws.cache.path_for(d) for d in present]
    sizes = [p.stat().st_size for p in paths]
    with Meter("checking", sum(sizes), len(paths), enabled=False if quiet else None) as meter:
        hashed = hash_many(paths, sizes, ws.settings.jobs, lambda _i, n: meter.advance(n, 1))
    report = FsckReport(len(present))
    for d, (actual, _size) in zip(present, hashed):
        if actual != d:
            report.corrupted.append((d, str(actual)))
    bad = {d for d, _ in report.corrupted}
    missing_manifests: list[Digest] = []
    referenced = set()
    try:
        referenced = referenced_digests(ws, on_missing_manifest=missing_manifests.append)
    except (IntegrityError, ValidationError):
        pass  # a corrupted manifest is already listed
    report.missing = sorted(
        d for d in referenced | set(missing_manifests) if not ws.cache.has(d) and d not in bad
    )
    if repair:
        if bad:
            ws.statcache.forget_trees()
        for d in bad:
            ws.cache.remove(d)
        report.repaired = True
    return report
