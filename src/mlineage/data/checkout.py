"""``checkout``: make tracked paths match their pointers, placing objects from the cache.

Every refusal (data that differs from its pointer and is not in the cache) is found before anything changes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..blobs.placement import place
from ..blobs.statcache import StatKey
from ..errors import MlineageError, ValidationError
from ..hashing import ManifestEntry, norm_mode
from ..model import Digest
from . import pointer as ptr
from .scan import walk_files
from .status import StatusEntry, status_one
from .targets import relpath

if TYPE_CHECKING:
    from .workspace import Workspace


def checkout(ws: Workspace, paths: Sequence[str | os.PathLike[str]] | None = None, *, force: bool = False,
             fetch: bool = True, quiet: bool = False) -> list[tuple[StatusEntry, str]]:
    """Make tracked paths match their pointers. Returns (status before, action) per pointer.

    Data that differs from the pointer and is not in the cache would be lost, so it is refused unless
    ``force``; every refusal is found before anything is changed.
    """
    plans: list[tuple[StatusEntry, tuple[ptr.Pointer, list[ManifestEntry] | None] | None]] = []
    for pointer in ws.pointers(paths):
        entry = status_one(ws, pointer, details=False)
        if entry.state == "invalid":
            ptr.read(pointer)  # a broken pointer raises its own error, which names the file and the fix
            raise MlineageError(entry.detail)  # the data could not be read: the detail names it
        if entry.state == "unchanged":
            plans.append((entry, None))
            continue
        p = ptr.read(pointer)
        if p.is_dir:
            ws.ensure_local([p.digest], fetch=fetch, quiet=quiet)
            manifest = ws.read_manifest(p.digest)
            ws.ensure_local([e.digest for e in manifest], fetch=fetch, quiet=quiet)
        else:
            manifest = None
            ws.ensure_local([p.digest], fetch=fetch, quiet=quiet)
        if not force:
            _refuse_data_loss(ws, entry.data, p, manifest)
        plans.append((entry, (p, manifest)))
    out = []
    for entry, plan in plans:
        if plan is None:
            out.append((entry, "unchanged"))
            continue
        p, manifest = plan
        if manifest is None:
            _place_file(ws, p.digest, entry.data, None)
        else:
            _place_dir(ws, entry.data, manifest)
        out.append((entry, "restored" if entry.state == "missing" else "updated"))
    return out

def _unsaved(ws: Workspace, path: Path, st: os.stat_result, wanted: Digest | None) -> bool:
    (digest,) = ws.digests_of([(str(path), st)])
    return digest != wanted and not ws.cache.has(digest)

def _refuse_data_loss(
    ws: Workspace, data: Path, p: ptr.Pointer, manifest: list[ManifestEntry] | None
) -> None:
    if not os.path.lexists(data):
        return
    if data.is_file() and not data.is_symlink():
        if _unsaved(ws, data, os.lstat(data), p.digest if manifest is None else None):
            raise ValidationError(
                "checkout",
                f"{relpath(data, ws.root)} has changes that are not in the cache",
                f"`mlineage add {relpath(data, ws.root)}` to keep them, or pass --force",
            )
        return
    if data.is_dir() and not data.is_symlink():
        wanted = {e.path: e.digest for e in manifest or []}
        for rel, full, st in walk_files(data):
            if _unsaved(ws, Path(full), st, wanted.get(rel)):
                raise ValidationError(
                    "checkout",
                    f"{relpath(Path(full), ws.root)} has changes that are not in the cache",
                    f"`mlineage add {relpath(data, ws.root)}` to keep them, or pass --force",
                )

def _place_file(ws: Workspace, digest: Digest, target: Path, mode: int | None) -> None:
    source = ws.verify_object(digest)
    used = place(source, target, ws.settings.link_modes, mode if mode is not None else 0o644,
                 ws._cache_dev())
    st = os.stat(target)
    if used in ("copy", "reflink"):
        ws.statcache.put_many([(StatKey.of(st), str(digest))])

def _place_dir(ws: Workspace, data: Path, manifest: list[ManifestEntry]) -> None:
    if os.path.lexists(data) and not data.is_dir():
        os.unlink(data)
    data.mkdir(parents=True, exist_ok=True)
    wanted = {e.path: e for e in manifest}
    current = {rel: (full, st) for rel, full, st in walk_files(data)}
    for rel, (full, _st) in current.items():
        if rel not in wanted:
            os.unlink(full)
    have = ws.digests_of([(full, st) for full, st in current.values()])
    have_by_rel = dict(zip(current, have))
    new_rows = []
    for e in manifest:
        target = data / e.path
        old = current.get(e.path)
        if old is not None and have_by_rel[e.path] == e.digest and norm_mode(old[1].st_mode) == e.mode:
            continue
        if target.is_dir():
            import shutil

            shutil.rmtree(target)
        source = ws.verify_object(e.digest)
        used = place(source, target, ws.settings.link_modes, e.mode, ws._cache_dev())
        if used in ("copy", "reflink"):
            new_rows.append((StatKey.of(os.stat(target)), str(e.digest)))
    ws.statcache.put_many(new_rows)
    _remove_empty_dirs(data)
    ws.scan(data)  # remember the directory as placed, so the next status is quick



def _remove_empty_dirs(root: Path) -> None:
    for folder, dirnames, filenames in os.walk(root, topdown=False):
        if folder != str(root) and not dirnames and not filenames:
            try:
                os.rmdir(folder)
            except OSError:
                pass

