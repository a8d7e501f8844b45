"""The first no-op ``reproduce --upstream`` on an embedded SQLite store, read with plain ``sqlite3``.

A no-op answer (every step up to date) only reads: REF's producing run, its ancestry, each step's recorded
key terms and code manifest, and the working tree's code and environment now. Opening the store through
the Client costs an import of SQLAlchemy and the schema check, several times what those reads take, so on
a SQLite file this path answers them itself, read-only, in one read transaction, with the functions the
full check uses (``ancestry.read_ancestry`` for the ancestry, ``current.CurrentTerms`` for the keys, the
same result classes), and returns the same answer. Whatever it cannot answer it leaves to the full check
(``service.py``): a store other than a SQLite file, a schema that is not the current revision, a REF that
is not a file or a full digest, a code manifest not in the local artifact store, an ancestry too large to
read at once, and any stale step (re-running or reusing a step writes, which is the Client's job).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MlineageError
from ..model import Run
from .ancestry import read_ancestry
from .results import ReproduceResult, StepResult

if TYPE_CHECKING:
    from ..config import Settings

_FULL_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
# the runs that produced any occurrence of a digest, in the order they were recorded (``producers_of``)
_PRODUCERS = (
    "SELECT r.node_id FROM runs r JOIN edges e ON e.parent = r.node_id WHERE e.type = 'PRODUCED' "
    "AND e.child IN (SELECT node_id FROM artifacts WHERE digest = ? "
    "UNION ALL SELECT node_id FROM occurrences WHERE digest = ?) ORDER BY r.created_seq"
)


class _Unanswered(Exception):
    """Something this path does not answer: the full check does."""


def noop_answer(settings: Settings, ref: str, cwd: Path) -> tuple[ReproduceResult, list[Any]] | None:
    """(the answer, the ledger head it was read at) when every step of REF's ancestry is up to date; None
    when the full check must answer (see the module docstring: it also gives every error message)."""
    from ..config import sqlite_path

    database = sqlite_path(settings.store_uri)
    objects = _local_folder(settings.artifacts_uri)
    if database is None or objects is None or not Path(database).is_file():
        return None
    try:
        digest = _digest_of(ref, cwd)
        if digest is None:
            return None
        conn = sqlite3.connect(Path(database).resolve().as_uri() + "?mode=ro", uri=True, timeout=5,
                               isolation_level=None)
        try:
            conn.execute("BEGIN")  # one snapshot for every read below
            return _answer(conn.cursor(), digest, objects, cwd)
        finally:
            conn.close()
    except (_Unanswered, sqlite3.Error, OSError, ValueError, MlineageError):
        return None


def _answer(cursor: Any, digest: str, objects: Path, cwd: Path) -> tuple[ReproduceResult, list[Any]] | None:
    from ..stores.records import RecordReader
    from ..stores.revision import HEAD_REVISION
    from .current import CurrentTerms
    from .materialise import repository_root

    revision = cursor.execute("SELECT version_num FROM alembic_version").fetchone()
    if revision is None or revision[0] != HEAD_REVISION:
        return None  # the full check migrates it
    head = cursor.execute("SELECT seq, hash FROM ledger_head").fetchone()
    producers = cursor.execute(_PRODUCERS, (digest, digest)).fetchall()
    if not producers:
        return None  # not recorded, or a source artifact: the full check says which
    [target] = RecordReader(cursor, False).node_records([[int(producers[-1][0])]], None).values()
    if not isinstance(target, Run):
        return None
    ancestry = read_ancestry(cursor, False, target.id)
    if ancestry is None:
        return None
    repo = repository_root(cwd)
    now = CurrentTerms(repo, _ManifestReader(objects))
    steps = []
    for run, inputs in ancestry.steps(target):
        recorded, key = now.step_keys(run, inputs, {})
        if recorded is None or recorded.key != key.key:
            return None  # a stale step: re-run or reused by the full check
        steps.append(StepResult(run, "up-to-date", run.id, key=key.key))
    result = ReproduceResult(digest, steps, repo, sorted(now.watched))
    return result, list(head) if head else [0, ""]


def _digest_of(ref: str, cwd: Path) -> str | None:
    """REF's digest when it is a file (hashed, as ``Client.resolve`` does) or a full digest; else None."""
    if _FULL_DIGEST.match(ref):
        return ref
    path = cwd / ref
    if "@" in ref or ref.startswith(("sha256:", "run:")) or not path.is_file():
        return None
    from ..hashing import hash_file

    return str(hash_file(path)[0])


def _local_folder(uri: str) -> Path | None:
    """The folder of a local artifact store (a path or ``file://``), None for any other kind."""
    if uri.startswith("file://"):
        from urllib.parse import unquote, urlsplit

        return Path(unquote(urlsplit(uri).path))
    return None if "://" in uri else Path(uri)


class _ManifestReader:
    """A run's recorded code manifest from the local artifact store, checked against its digest (as
    ``materialise.code_manifest`` reads it through the Client); one that is not there is left to the full
    check, which may fetch it from the project's remote."""

    def __init__(self, objects: Path) -> None:
        from ..blobs.local import LocalBlobStore

        self.store = LocalBlobStore(objects)
        self.read: dict[str, dict[str, Any]] = {}

    def __call__(self, run: Run) -> dict[str, Any] | None:
        from collections.abc import Mapping

        from ..model import Digest

        code = run.context.get("code")
        digest = code.get("digest") if isinstance(code, Mapping) else None
        if not isinstance(digest, str):
            return None
        if digest not in self.read:
            d = Digest.parse(digest)
            try:
                data = self.store.path_for(d).read_bytes()
            except OSError:
                raise _Unanswered(digest) from None
            if d.algorithm != "sha256" or hashlib.sha256(data).hexdigest() != d.hex:
                raise _Unanswered(digest)
            self.read[digest] = json.loads(data)
        return self.read[digest]
