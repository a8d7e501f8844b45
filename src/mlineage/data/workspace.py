"""The data workspace: one project's tracked paths, its cache and stat cache, and the ledger ``add`` records
in.

``Workspace`` is the facade the CLI and the tests use; each job lives in a module of its own: ``scan`` (what
a path holds now), ``targets`` (which paths a command may touch), ``add``, ``status`` and ``checkout``.

Nothing here imports SQLAlchemy: only ``add`` touches the ledger, through a Client it is handed or opens
late, so ``status`` and ``checkout`` of a clean tree cost a walk, a few stats and one SQLite lookup.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..background import Background
from ..blobs.local import LocalBlobStore
from ..blobs.statcache import StatCache, Tree
from ..errors import NotFoundError
from ..hashing import ManifestEntry
from ..model import Digest
from . import add as add_mod
from . import checkout as checkout_mod
from . import pointer as ptr
from . import status as status_mod
from .add import MANIFEST_MEDIA_TYPE, AddResult
from .progress import Meter
from .scan import Scan, Scanner, unreadable, walk_dir, walk_files
from .settings import DataSettings, load_data_settings
from .status import StatusEntry
from .targets import ensure_gitignored, find_pointers, resolve_target, tracked_pointers

if TYPE_CHECKING:
    from ..blobs.walk import ChildWalk, Rows
    from ..sdk.client import Client

__all__ = ["MANIFEST_MEDIA_TYPE", "STATCACHE_FILE", "AddResult", "Scan", "StatusEntry", "Workspace",
           "ensure_gitignored", "find_pointers", "referenced_digests", "unreadable", "walk_dir", "walk_files"]

STATCACHE_FILE = "statcache.db"


class Workspace:
    """A project's data: its settings, cache, stat cache and ledger, and the commands' entry points."""

    def __init__(self, settings: DataSettings | None = None, *, client: Client | None = None,
                 statcache: StatCache | None = None) -> None:
        self.settings = settings or load_data_settings()
        self.root = self.settings.root.resolve()
        self.cache = LocalBlobStore(self.settings.cache_dir)
        self.statcache = statcache or StatCache(self.settings.state_dir / STATCACHE_FILE)
        self._client = client
        self._owns_client = client is None
        self._ledger: Any = None  # a SqliteLedger, once add has opened one
        self._anchor: Any = None  # its checkpoint anchor (a ProjectAnchor)
        self._opener: Background[None] | None = None
        self._remote: Any = None
        self.scanner = Scanner(self.cache, self.statcache, self.settings.jobs)

    # ------------------------------------------------------------ plumbing

    @property
    def client(self) -> Client:
        if self._client is None:
            from ..config import load_settings
            from ..sdk.client import Client

            self._client = Client(load_settings(self.root), blobs=self.cache)
        return self._client

    def remote(self, uri: str | None = None) -> Any:
        from .transfer import open_remote

        if uri is not None:
            return open_remote(uri, self.settings.remote_options, self.root)
        if self._remote is None:
            if not self.settings.remote_uri:
                raise NotFoundError("no remote is configured: set [remote] uri in .mlineage/config.toml "
                                    "(a folder or s3://bucket/prefix), or MLINEAGE_REMOTE, or pass --remote")
            self._remote = open_remote(self.settings.remote_uri, self.settings.remote_options, self.root)
        return self._remote

    def close(self) -> None:
        self.statcache.close()
        if self._opener is not None:  # an add that failed early: let the ledger finish opening, then close it
            with contextlib.suppress(BaseException):
                self._opener.result()
            self._opener = None
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None

    def _cache_dev(self) -> int:
        return os.stat(self.cache.root).st_dev

    # ------------------------------------------------------------ scanning and reading the cache

    def digests_of(
        self, files: Sequence[tuple[str, os.stat_result]], meter: Meter | None = None
    ) -> list[Digest]:
        return self.scanner.digests_of(files, meter)

    def scan(self, path: Path, meter: Meter | None = None, *, tree: Tree | None = None,
             remember: bool = True, on_chunk: Callable[[bytes], object] | None = None) -> Scan:
        return self.scanner.scan(path, meter, tree=tree, remember=remember, on_chunk=on_chunk)

    def verify_object(self, digest: Digest) -> Path:
        return self.scanner.verify_object(digest)

    def read_manifest(self, digest: Digest) -> list[ManifestEntry]:
        return self.scanner.read_manifest(digest)

    def ensure_local(self, digests: Iterable[Digest], *, fetch: bool = True, quiet: bool = False) -> None:
        """Make sure every object is in the local cache, downloading the missing ones from the remote."""
        missing = sorted({d for d in digests if not self.cache.has(d)})
        if not missing:
            return
        if not fetch or not self.settings.remote_uri:
            raise NotFoundError(
                f"{len(missing)} object(s) are not in the local cache (e.g. {missing[0]}) and "
                "no remote is configured to fetch them from; set [remote] uri and run "
                "`mlineage pull`"
            )
        from .transfer import download

        download(self, self.remote(), missing, quiet=quiet)


    # ------------------------------------------------------------ the jobs

    def _target(self, raw: str | os.PathLike[str], *, must_exist: bool = True) -> Path:
        return resolve_target(self.root, raw, must_exist=must_exist)

    def pointers(self, paths: Sequence[str | os.PathLike[str]] | None = None) -> list[Path]:
        """Pointer files for the given paths (a tracked path, its pointer, or a folder to search), or all."""
        return tracked_pointers(self.root, paths)

    def add(self, paths: Sequence[str | os.PathLike[str]], *, name: str | None = None, kind: str = "dataset",
            metadata: dict[str, Any] | None = None, quiet: bool = False,
            walks: Mapping[str, ChildWalk | Background[Rows]] | None = None) -> list[AddResult]:
        """Hash, store and record paths; write their pointers (see ``mlineage.data.add``)."""
        return add_mod.add(self, paths, name=name, kind=kind, metadata=metadata, quiet=quiet, walks=walks)

    def status(self, paths: Sequence[str | os.PathLike[str]] | None = None, *, details: bool = True
               ) -> list[StatusEntry]:
        return status_mod.status(self, paths, details=details)

    def checkout(self, paths: Sequence[str | os.PathLike[str]] | None = None, *, force: bool = False,
                 fetch: bool = True, quiet: bool = False) -> list[tuple[StatusEntry, str]]:
        """Make tracked paths match their pointers (see ``mlineage.data.checkout``)."""
        return checkout_mod.checkout(self, paths, force=force, fetch=fetch, quiet=quiet)

    # ------------------------------------------------------------ the ledger (used by add)

    def _open_ledger(self) -> None:
        """Open the lean SQLite ledger when the store is a SQLite file at the current schema; otherwise (an
        injected Client, PostgreSQL, a server, a schema to migrate) ``add`` records through the Client."""
        if self._client is not None or self._ledger is not None:
            return
        from ..config import load_settings, sqlite_path
        from ..stores.sqlite_ledger import SqliteLedger

        settings = load_settings(self.root)
        path = sqlite_path(settings.store_uri)
        if path:
            from ..checkpoints import ProjectAnchor

            self._anchor = ProjectAnchor(self.root, settings.store_uri)
            self._anchor.guard_before_open()  # never open (and so create) a database the project says existed
        self._ledger = SqliteLedger.open(path) if path else None
        if self._ledger is None:
            _ = self.client
        else:  # what _record needs, loaded here, off the main thread
            from .. import pipeline  # noqa: F401
            from ..capture.basic import actor

            actor()

    def _record(self, new_events: list[Any]) -> None:
        """Append events through the one pipeline, as ``Client.append`` does (here straight to the lean
        SQLite writer when ``add`` opened one), then write the new head to the project's checkpoint file."""
        if self._ledger is None:
            self.client.append(new_events)
            self.client.write_checkpoint()
            return
        from .. import pipeline

        stored = pipeline.append(self._ledger, new_events)
        if stored and self._anchor is not None:
            self._anchor.record(stored[-1].seq, stored[-1].hash)


def referenced_digests(ws: Workspace, pointers: Sequence[Path] | None = None,
                       on_missing_manifest: Callable[[Digest], None] | None = None) -> set[Digest]:
    """Every object the pointers reach: their digests and, for directories, each manifest's members."""
    out: set[Digest] = set()
    for pointer in pointers if pointers is not None else ws.pointers():
        p = ptr.read(pointer)
        out.add(p.digest)
        if p.is_dir:
            if ws.cache.has(p.digest):
                out.update(e.digest for e in ws.read_manifest(p.digest))
            elif on_missing_manifest is not None:
                on_missing_manifest(p.digest)
    return out
