"""Table rows → domain objects: the one decoder of an ``artifacts`` row, for every reader of that table.

The SQLAlchemy store, the lean SQLite ledger (on the ``add`` and tracked-run path, which must not import
SQLAlchemy) and the bulk record reader all select ``ARTIFACT_COLUMNS`` first, in this order, and hand the row
(a DB-API tuple or a SQLAlchemy ``Row``; extra columns after these are theirs) to ``artifact_from_row``. The
digest is split without re-validation and an empty metadata object is not parsed: rows were validated when
they were written, and these readers are on hot paths.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..model import Artifact, ArtifactKind, Digest

ARTIFACT_COLUMNS = (
    "digest", "kind", "size", "name", "version", "media_type", "uri", "metadata", "created_at",
)
ARTIFACT_SELECT = ", ".join(ARTIFACT_COLUMNS)


def json_column(text: str | None) -> Any:
    """A JSON text column: ``{}`` without parsing it (the common case), NULL as None."""
    return {} if text == "{}" else json.loads(text) if text else None


def artifact_from_row(row: Sequence[Any], labelled: bool = True, occurrence: int = 1) -> Artifact:
    """The artifact in a row that starts with ``ARTIFACT_COLUMNS``; ``labelled=False`` leaves out its
    name and version (a time-travel read from before the artifact was named); ``occurrence`` says which of
    the digest's graph nodes the row describes (``stores/projections/graph.py``)."""
    algorithm, _sep, hexpart = row[0].partition(":")
    return Artifact(Digest(algorithm, hexpart), ArtifactKind(row[1]), row[2], row[3] if labelled else None,
                    row[4] if labelled else None, row[5], row[6], json_column(row[7]), row[8], occurrence)
