"""Dataset versions through a Client: refs to files on this machine, diffs, profiles, drift, semantic
versions for ``add``, rollbacks and the listing of versions. The Client's methods call these; the CLI, the
Python API and the server call the Client."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError, ValidationError
from ..model import Artifact, Digest, Run
from .differ import DEFAULT_SAMPLES, Materialized
from .model import DatasetDiff, Side
from .profile import Profile
from .records import records_for
from .versioning import semver_of

if TYPE_CHECKING:
    from ..sdk.client import Client
    from .drift import DriftReport

MANIFEST_MEDIA_TYPE = "application/vnd.mlineage.manifest+json"
DATA_SUFFIX = ":data"


# ---------------------------------------------------------------- refs to local files


def _recorded_name(artifact: Artifact) -> str:
    path = artifact.metadata.get("path") if isinstance(artifact.metadata, dict) else None
    for candidate in (path, artifact.name):
        if isinstance(candidate, str) and Path(candidate).name:
            return Path(candidate).name
    return artifact.digest.hex[:12]


def training_data(client: Client, ref: str) -> Artifact:
    """``REF:data``: the dataset the run that made REF used (or REF's own input, for a run)."""
    node = client.resolve(ref)
    if isinstance(node, Run):
        run = node
    else:
        producers = client.store.producers_of(str(node.digest))
        if not producers:
            raise NotFoundError(f"{ref} was produced by no recorded run, so it has no training data")
        run = producers[-1]
    inputs, _ = client.store.io_of_run(run.id)
    datasets = [a for a, role in inputs if a.kind.value == "dataset" and role not in ("code", "environment")]
    if len(datasets) != 1:
        shown = ", ".join(f"{a.name}@{a.version}" if a.name else str(a.digest) for a in datasets) or "none"
        raise ValidationError(
            "ref",
            f"run {run.id[:12]} ({run.job}) used {len(datasets)} datasets ({shown})",
            "name the dataset itself" if datasets else "record the run's inputs with run.use",
        )
    return datasets[0]


def _side_of(client: Client, artifact: Artifact, ref: str) -> Side:
    semver = None
    if artifact.name:
        with contextlib.suppress(Exception):  # a store that keeps no dataset records has no semvers
            semver = semver_of(records_for(client.store).versions(artifact.name), str(artifact.digest))
    return Side(ref, str(artifact.digest), artifact.name, artifact.version, semver, artifact.size)


def _blob_path(client: Client, digest: Digest, scratch: Path) -> Path:
    """A local path holding the blob: the cache's own file, else a download into ``scratch``."""
    path_for = getattr(client.blobs, "path_for", None)
    if path_for is not None:
        path = Path(path_for(digest))
        if path.is_file():
            return Path(path)
    if not client.blobs.has(digest):
        raise NotFoundError(
            f"the bytes of {digest} are not in the artifact store {client.blobs.uri} "
            "(`mlineage pull` fetches them from the remote)"
        )
    target = scratch / digest.hex
    if not target.exists():
        import shutil

        with client.blobs.open(digest) as source, target.open("wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
    return target


def materialize_artifact(client: Client, artifact: Artifact, ref: str, scratch: Path) -> Materialized:
    side = _side_of(client, artifact, ref)
    if artifact.media_type == MANIFEST_MEDIA_TYPE:
        from ..hashing import parse_manifest

        with client.blobs.open(artifact.digest) as handle:
            entries = parse_manifest(handle.read())
        files: dict[str, tuple[Path, str | None]] = {
            e.path: (_blob_path(client, e.digest, scratch), str(e.digest)) for e in entries
        }
        return Materialized(side, _recorded_name(artifact), files=files)
    return Materialized(side, _recorded_name(artifact), path=_blob_path(client, artifact.digest, scratch))


def is_local(ref: str) -> bool:
    """A ref that names a file or folder on disk (not a pointer file): diffing two of them needs no ledger."""
    return os.path.lexists(ref) and "@" not in ref and not ref.endswith(".lin")


def materialize(client: Client | None, ref: str, scratch: Path) -> Materialized:
    """A side from what the user typed: a file or folder on disk, a pointer file (``x.lin``), any REF of
    a recorded version, or ``REF:data``."""
    local = Path(ref)
    if client is None:  # only files on disk can be read without a ledger
        if not is_local(ref):
            raise ValidationError("ref", f"{ref!r} is not a file or folder here")
    elif os.path.lexists(local) and local.suffix == ".lin" and local.is_file():
        from ..data import pointer as ptr

        pointed = ptr.read(local)
        artifact = client.store.get_artifact(str(pointed.digest))
        if artifact is None:
            raise NotFoundError(f"{ref} names {pointed.digest.short}, which the ledger does not record")
        return materialize_artifact(client, artifact, ref, scratch)
    if os.path.lexists(local) and "@" not in ref:
        if local.is_dir():
            from ..hashing import directory_manifest

            entries = directory_manifest(local)
            files: dict[str, tuple[Path, str | None]] = {
                e.path: (local / e.path, str(e.digest)) for e in entries
            }
            return Materialized(Side(ref), local.name, files=files)
        return Materialized(Side(ref, size=local.stat().st_size), local.name, path=local)
    assert client is not None
    if ref.endswith(DATA_SUFFIX) and len(ref) > len(DATA_SUFFIX):
        artifact = training_data(client, ref[: -len(DATA_SUFFIX)])
        return materialize_artifact(client, artifact, ref, scratch)
    node = client.resolve(ref)
    if not isinstance(node, Artifact):
        raise ValidationError(
            "ref",
            f"{ref!r} is a run, not a dataset",
            f"name a dataset, or write {ref}{DATA_SUFFIX} for the dataset the run used",
        )
    return materialize_artifact(client, node, ref, scratch)


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="mlineage-diff-") as path:
        yield Path(path)


# ---------------------------------------------------------------- diff, profile, drift


def diff(
    client: Client | None, a: str, b: str, *, key: Sequence[str] | None = None, samples: int = DEFAULT_SAMPLES
) -> DatasetDiff:
    from .differ import diff as diff_sides

    with scratch_dir() as scratch:
        side_a = materialize(client, a, scratch)
        side_b = materialize(client, b, scratch)
        return diff_sides(side_a, side_b, key=list(key) if key else None, samples=samples)


def compute_profile(side: Materialized, inline: bytes | None = None) -> Profile:
    """The profile of a side that is a table. ``inline``: the bytes of its one file, already read (``add``
    hashed them): the data is then read from memory, not from disk again."""
    import dataclasses

    from . import engine

    table = side.table()
    if table is not None and inline is not None and len(table.files) == 1:
        table = dataclasses.replace(table, inline=inline)
    if table is None:
        raise ValidationError(
            side.side.label,
            "is not a table (Parquet, CSV or JSON Lines, or a folder of shards of one of them)",
            "profiles are kept for tables only",
        )
    with engine.connect() as con:
        found = engine.profile_table(con, table)
    return Profile(found["rows"], found["columns"], table.format)


def stored_profile(client: Client, digest: str) -> Profile | None:
    """The profile recorded for a version, read from its blob (None when there is none)."""
    row = records_for(client.store).profile(digest)
    if row is None:
        return None
    with client.blobs.open(Digest.parse(row["profile"])) as handle:
        return Profile.from_bytes(handle.read())


def record_profile(client: Client, digest: str, profile: Profile) -> str:
    """Store the profile's bytes (content-addressed) and record them as the version's profile."""
    from .versioning import profiled_event

    profile_digest = client.blobs.put_bytes(profile.to_bytes())
    client.append([profiled_event(digest, str(profile_digest), profile.rows, len(profile.columns))])
    return str(profile_digest)


def profile(client: Client, ref: str, *, record: bool = True) -> tuple[Side, Profile, bool]:
    """The profile of REF: the stored one, else computed (and, for a recorded version with ``record``,
    stored). Returns (side, profile, whether it came from the store)."""
    with scratch_dir() as scratch:
        side = materialize(client, ref, scratch)
        if side.side.digest is not None:
            found = stored_profile(client, side.side.digest)
            if found is not None:
                return side.side, found, True
        computed = compute_profile(side)
        if record and side.side.digest is not None:
            record_profile(client, side.side.digest, computed)
        return side.side, computed, False


def drift(
    client: Client,
    a: str,
    b: str,
    *,
    columns: Sequence[str] | None = None,
    thresholds: dict[str, float] | None = None,
) -> tuple[Side, Side, DriftReport]:
    """Drift from the stored profiles; a side with none is profiled from its data (not recorded: drift
    only reads)."""
    from .drift import drift as compare

    side_a, pa, _ = profile(client, a, record=False)
    side_b, pb, _ = profile(client, b, record=False)
    return side_a, side_b, compare(pa, pb, columns=columns, thresholds=thresholds)


# ---------------------------------------------------------------- versions


def dataset_versions(client: Client, name: str, as_of_seq: int | None = None) -> list[dict[str, Any]]:
    """Every version of ``name`` with its semantic version, level, reasons, rows, who/when and users."""
    from ..versions import versions_of

    records = records_for(client.store)
    semvers = records.versions(name, as_of_seq)
    by_digest: dict[str, dict[str, Any]] = {}
    for row in semvers:
        by_digest[row["digest"]] = row
    rollbacks = [rb for rb in records.rollbacks(name) if as_of_seq is None or rb["seq"] <= as_of_seq]
    out = []
    for v in versions_of(client.store, name):
        a = v.artifact
        if as_of_seq is not None and v.seq and v.seq > as_of_seq:
            continue
        digest = str(a.digest)
        sem = by_digest.get(digest)
        prof = records.profile(digest)
        used_by = client.store.consumers_of(digest)
        out.append(
            {
                "version": a.version,
                "semver": sem["semver"] if sem else None,
                "digest": digest,
                "kind": a.kind.value,
                "size": a.size,
                "rows": prof["rows"] if prof else None,
                "level": sem["level"] if sem else None,
                "reasons": sem["reasons"] if sem else [],
                "overridden": sem["overridden"] if sem else False,
                "proposed": sem["proposed"] if sem else None,
                "recorded_at": v.recorded_at,
                "recorded_by": v.actor,
                "seq": v.seq or None,
                "path": a.metadata.get("path"),
                "used_by": [{"id": r.id, "job": r.job, "status": r.status.value} for r in used_by],
                "rollbacks_to": [
                    {"from": rb["from"], "reason": rb["reason"], "by": rb["actor"], "at": rb["ts"]}
                    for rb in rollbacks
                    if rb["to"]["digest"] == digest
                ],
            }
        )
    return out


def version_semantics(
    client: Client,
    name: str,
    digest: str,
    version: int | None,
    *,
    override: str | None = None,
    key: Sequence[str] | None = None,
    scratch: Path | None = None,
) -> tuple[Any, list[Any]]:
    """The proposal for a new version of ``name`` (compared with the one before it, by ``key`` or the key
    the name's last semantic version was given with) and the events that record it with its profile;
    nothing is appended here."""
    from ..versions import versions_of
    from .differ import diff as diff_sides
    from .versioning import propose

    records = records_for(client.store)
    rows = records.versions(name)
    artifact = client.store.get_artifact(digest)
    if artifact is None:
        raise NotFoundError(f"artifact {digest} is not recorded")
    if artifact.name != name or artifact.version != version:
        artifact = Artifact(
            artifact.digest,
            artifact.kind,
            artifact.size,
            name,
            version,
            artifact.media_type,
            artifact.uri,
            artifact.metadata,
            artifact.created_at,
        )
    earlier = [
        v.artifact
        for v in versions_of(client.store, name)
        if v.artifact.version is not None and version is not None and v.artifact.version < version
    ]
    previous_artifact = earlier[-1] if earlier else None
    with contextlib.ExitStack() as stack:
        where = scratch or stack.enter_context(scratch_dir())
        new_side = materialize_artifact(client, artifact, f"{name}@{version}", where)
        diff_result = None
        previous = None
        if previous_artifact is not None:
            old_side = materialize_artifact(
                client, previous_artifact, f"{name}@{previous_artifact.version}", where
            )
            if key is None and rows:
                key = rows[-1]["summary"].get("key") or None
            diff_result = diff_sides(old_side, new_side, key=list(key) if key else None, samples=0)
            previous = {
                "digest": str(previous_artifact.digest),
                "version": previous_artifact.version,
                "semver": semver_of(rows, str(previous_artifact.digest)),
            }
        proposal = propose(name, digest, version, rows, previous, diff_result, override)
        if key:
            proposal.summary["key"] = list(key)
        events = []
        if new_side.table() is not None and records.profile(digest) is None:
            from .versioning import profiled_event

            prof = compute_profile(new_side)
            profile_digest = client.blobs.put_bytes(prof.to_bytes())
            events.append(profiled_event(digest, str(profile_digest), prof.rows, len(prof.columns)))
        events.append(proposal.event())
    return proposal, events


def give_semver(
    client: Client,
    name: str,
    digest: str,
    version: int | None,
    *,
    override: str | None = None,
    key: Sequence[str] | None = None,
) -> Any:
    """Propose and record the semantic version of a new version (``add --semver``)."""
    proposal, events = version_semantics(client, name, digest, version, override=override, key=key)
    client.append(events)
    return proposal


def rollback_record(
    client: Client, name: str, current: Artifact | None, target: Artifact, reason: str
) -> Any:
    from .versioning import rollback_event

    rows = records_for(client.store).versions(name)

    def ref(a: Artifact | None) -> dict[str, Any] | None:
        if a is None:
            return None
        return {"digest": str(a.digest), "version": a.version, "semver": semver_of(rows, str(a.digest))}

    to = ref(target)
    assert to is not None
    event = rollback_event(name, ref(current), to, reason)
    client.append([event])
    return event.payload
