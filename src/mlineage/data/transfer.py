"""push and pull: move only the missing objects between the local cache and a remote, in parallel batches.

A remote is any blob store with ``missing``, ``upload`` and ``download_to`` (a local folder, S3, a team
server). Uploads go member files first and directory manifests last, so a manifest on the remote implies its
files are there. Every download is re-hashed before it lands in the cache. An interrupted push or pull leaves
only complete objects behind, and running it again transfers just what is still missing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError
from ..model import Digest
from . import pointer as ptr
from .progress import Meter

if TYPE_CHECKING:
    from .workspace import Workspace

BATCH = 256  # objects submitted to the pool at a time: bounded memory, early stop on the first failure


@dataclass
class TransferReport:
    transferred: int
    bytes: int
    already: int
    missing_locally: list[Digest]

    def to_dict(self) -> dict[str, Any]:
        return {"transferred": self.transferred, "bytes": self.bytes, "already_there": self.already,
                "missing_locally": [str(d) for d in self.missing_locally]}


def open_remote(uri: str, options: dict[str, Any], root: Path) -> Any:
    from ..blobs.registry import open_blob_store, scheme_of

    if scheme_of(uri) == "file" and not os.path.isabs(uri.removeprefix("file://")):
        uri = str((root / uri).resolve())
    store = open_blob_store(uri, **options)
    check = getattr(store, "check", None)
    if check is not None:
        check()
    return store


def _run_batches(items: Sequence[Digest], work: Any, jobs: int) -> None:
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="mlineage-transfer") as pool:
        for start in range(0, len(items), BATCH):
            futures = [pool.submit(work, d) for d in items[start : start + BATCH]]
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for f in pending:
                f.cancel()
            for f in done:
                f.result()  # re-raise the first failure


def download(ws: Workspace, remote: Any, digests: Sequence[Digest], *, quiet: bool = False,
             jobs: int | None = None) -> int:
    """Fetch objects into the local cache, each re-hashed before it is renamed into place."""
    todo = [d for d in digests if not ws.cache.has(d)]
    if not todo:
        return 0
    with Meter("pulling", None, len(todo), enabled=False if quiet else None) as meter:
        def work(d: Digest) -> None:
            remote.download_to(d, ws.cache.path_for(d), on_bytes=lambda n: meter.advance(n))
            meter.advance(0, 1)

        _run_batches(todo, work, jobs or max(4, ws.settings.jobs))
    return len(todo)


def _needed(ws: Workspace, pointers: Sequence[Path] | None) -> tuple[list[Digest], list[Digest]]:
    """(file objects, manifest objects) the pointers reach; manifests must already be local."""
    files: set[Digest] = set()
    manifests: set[Digest] = set()
    for pointer in pointers if pointers is not None else ws.pointers():
        p = ptr.read(pointer)
        if p.is_dir:
            manifests.add(p.digest)
            if ws.cache.has(p.digest):
                files.update(e.digest for e in ws.read_manifest(p.digest))
        else:
            files.add(p.digest)
    return sorted(files - manifests), sorted(manifests)


def push(ws: Workspace, remote: Any, pointers: Sequence[Path] | None = None, *, all_objects: bool = False,
         quiet: bool = False, jobs: int | None = None) -> TransferReport:
    if all_objects:
        every = list(ws.cache.iter_digests())
        files, manifests = _split_manifests(ws, every)
    else:
        files, manifests = _needed(ws, pointers)
    missing_locally = [d for d in files + manifests if not ws.cache.has(d)]
    lacking = set(remote.missing([d for d in files + manifests if ws.cache.has(d)]))
    order = [d for d in files if d in lacking]
    order += [d for d in manifests if d in lacking]
    already = len(files) + len(manifests) - len(order) - len(missing_locally)
    sizes = {d: os.stat(ws.cache.path_for(d)).st_size for d in order}
    with Meter("pushing", sum(sizes.values()), len(order), enabled=False if quiet else None) as meter:
        def work(d: Digest) -> None:
            remote.upload(ws.cache.path_for(d), d, on_bytes=lambda n: meter.advance(n))
            meter.advance(0, 1)

        # manifests go strictly after every file they list
        _run_batches([d for d in order if d not in manifests], work, jobs or max(4, ws.settings.jobs))
        _run_batches([d for d in order if d in manifests], work, jobs or max(4, ws.settings.jobs))
    return TransferReport(len(order), sum(sizes.values()), already, missing_locally)


def _split_manifests(ws: Workspace, digests: list[Digest]) -> tuple[list[Digest], list[Digest]]:
    manifests = set()
    for pointer in ws.pointers():
        try:
            p = ptr.read(pointer)
        except Exception:  # noqa: BLE001, S112 - a bad pointer does not stop pushing the rest
            continue
        if p.is_dir:
            manifests.add(p.digest)
    return sorted(d for d in digests if d not in manifests), sorted(d for d in digests if d in manifests)


def pull(ws: Workspace, remote: Any, pointers: Sequence[Path] | None = None, *, quiet: bool = False,
         jobs: int | None = None) -> TransferReport:
    chosen = list(pointers) if pointers is not None else ws.pointers()
    manifests = []
    files: set[Digest] = set()
    for pointer in chosen:
        p = ptr.read(pointer)
        if p.is_dir:
            manifests.append(p.digest)
        else:
            files.add(p.digest)
    fetched = download(ws, remote, manifests, quiet=True, jobs=jobs)
    for m in manifests:
        files.update(e.digest for e in ws.read_manifest(m))
    todo = sorted(d for d in files if not ws.cache.has(d))
    size_before = _cache_bytes(ws, todo)
    try:
        fetched += download(ws, remote, todo, quiet=quiet, jobs=jobs)
    except NotFoundError as exc:
        raise NotFoundError(f"{exc}; push it from a clone that has it") from None
    return TransferReport(
        fetched, _cache_bytes(ws, todo) - size_before, len(files) + len(manifests) - fetched, []
    )


def _cache_bytes(ws: Workspace, digests: Sequence[Digest]) -> int:
    total = 0
    for d in digests:
        try:
            total += os.stat(ws.cache.path_for(d)).st_size
        except FileNotFoundError:
            pass
    return total
