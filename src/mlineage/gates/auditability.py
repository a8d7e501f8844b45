"""The auditability gate: every ancestor of an artifact (and the artifact) has a content digest, an actor who
recorded it, and a producing run or an explicit ``source`` record; no input was referenced by a mutable name
alone.

Pure: the runner passes the ancestry's artifacts and what the store knows of each. An artifact imported from
OpenLineage is identified by its dataset name (and version, when the producer sent one), not by its content:
that is no content digest, and without a version it is a mutable name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..model import Artifact
from .model import Check

LISTED = 10


def _named(artifact: Artifact) -> bool:
    return artifact.metadata.get("source") == "openlineage"


def _check(name: str, failing: list[str], total: int, what: str) -> Check:
    if not failing:
        return Check(name, "pass", f"all {total} artifact(s) {what}", {"artifacts": total, "failing": 0})
    shown = ", ".join(failing[:LISTED]) + (
        f" and {len(failing) - LISTED} more" if len(failing) > LISTED else ""
    )
    return Check(
        name,
        "fail",
        f"{len(failing)} of {total} artifact(s) lack it: {shown}",
        {"artifacts": total, "failing": len(failing), "examples": failing[:LISTED]},
    )


def check_auditability(
    artifacts: Sequence[Artifact],
    actors: Mapping[str, str | None],
    produced: set[str],
    sources: Mapping[str, str],
) -> list[Check]:
    """Four checks over ``artifacts`` (the artifact and its ancestors): content digest, actor, provenance
    (a producing run or a source record) and pinned inputs (no mutable name alone)."""
    if not artifacts:
        return []
    total = len(artifacts)
    digest_missing = [a.label for a in artifacts if _named(a)]
    actor_missing = [a.label for a in artifacts if not actors.get(str(a.digest))]
    origin_missing = [
        a.label for a in artifacts if str(a.digest) not in produced and str(a.digest) not in sources
    ]
    mutable = [a.label for a in artifacts if _named(a) and a.metadata.get("version") is None]
    return [
        _check("content digest", digest_missing, total, "are identified by their content"),
        _check("actor", actor_missing, total, "name who recorded them"),
        _check("provenance", origin_missing, total, "have a producing run or a source record"),
        _check("pinned inputs", mutable, total, "are pinned (none referenced by a mutable name alone)"),
    ]
