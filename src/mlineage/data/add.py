"""``add``: hash paths, store their objects in the cache, record them in the ledger, write their pointers.

Order of writes: blobs (atomic, under their digest), then the ledger event, then the pointer file (atomic
rename), then ``.gitignore``. A crash at any point leaves no pointer naming a blob that was not stored.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..background import Background
from ..blobs.placement import SHARING_MODES
from ..blobs.statcache import TreeRecord
from ..errors import ValidationError
from ..model import Digest
from ..pathtext import path_text
from . import pointer as ptr
from .progress import Meter
from .scan import Scan, walk_dir
from .targets import ensure_gitignored, find_pointers, relpath, resolve_target

if TYPE_CHECKING:
    from ..blobs.walk import ChildWalk, Rows
    from ..datasets.hooks import AddProfiles
    from .workspace import Workspace

MANIFEST_MEDIA_TYPE = "application/vnd.mlineage.manifest+json"


@dataclass
class AddResult:
    path: Path
    pointer: Path
    digest: Digest
    size: int
    kind: str
    files: int | None
    name: str
    version: int | None
    changed: bool
    stored: int  # objects newly put in the cache


def add(
    ws: Workspace,
    paths: Sequence[str | os.PathLike[str]],
    *,
    name: str | None = None,
    kind: str = "dataset",
    metadata: dict[str, Any] | None = None,
    quiet: bool = False,
    walks: Mapping[str, ChildWalk | Background[Rows]] | None = None,
) -> list[AddResult]:
    """Hash, store and record paths; write their pointers.

    ``walks``: walks of some of the paths (by absolute path, ``os.path.abspath``) already started in the
    background by the caller (the console script starts them before it imports this module); a path reached
    through a symbolic link is looked up by its resolved path, so its walk is simply done again here."""
    if not paths:
        raise ValidationError("path", "no paths given", "name the files or folders to add")
    if name is not None and len(paths) > 1:
        raise ValidationError("name", "given with several paths", "add them one at a time to name them")
    targets = [resolve_target(ws.root, p) for p in paths]
    for t in targets:
        if not os.access(t, os.R_OK):
            raise ValidationError("path", f"{t} cannot be read (permission denied)", "fix its permissions")
    if len(set(targets)) != len(targets):
        raise ValidationError("path", "the same path is given twice")
    warn_if_shared(ws.settings.link_modes)
    # Open the ledger on a second thread while this one walks and hashes: imports hold the GIL, stat calls
    # and hashing mostly do not, so on two cores the start-up cost hides behind them.
    ws._opener = opener = Background(ws._open_ledger, "mlineage-ledger")
    walks = walks or {}
    trees = {t: walk_dir(t, walks.get(str(t))) for t in targets if t.is_dir()}
    for t, tree in trees.items():
        if ptr.SUFFIX + "\0" in "\0".join(tree.names) + "\0":  # the walk saw every file: search only then
            inner = find_pointers(t)
            if inner:
                raise ValidationError("path", f"{relpath(t, ws.root)} contains the tracked path "
                                      f"{relpath(ptr.data_path(inner[0]), ws.root)}",
                                      f"track one or the other: remove {relpath(inner[0], ws.root)} first")
    # 1. hash everything (changes nothing but the stat cache); a tabular file's bytes also go to its profile
    profiles = _profiles(ws, targets, kind)
    scans = []
    with Meter("hashing", enabled=None if not quiet else False) as meter:
        for t in targets:
            on_chunk = profiles.on_chunk(t) if profiles is not None else None
            scans.append(ws.scan(t, meter, tree=trees.get(t), remember=False, on_chunk=on_chunk))
    previous = []
    for s in scans:
        pointer = ptr.pointer_path(s.path)
        previous.append(ptr.read(pointer) if pointer.exists() else None)
        if profiles is not None:
            if previous[-1] is None or previous[-1].digest != s.digest:
                profiles.start(s.path, path_text(relpath(s.path, ws.root)))  # while the blobs are stored
            else:
                profiles.chunks.pop(s.path, None)
    # 2. blobs
    stored = [store(ws, s) for s in scans]
    # 3. the ledger: one append for every changed path
    from .. import events as ev

    results: list[AddResult] = []
    new_events = []
    for s, old, count in zip(scans, previous, stored):
        label = name or path_text(relpath(s.path, ws.root))
        changed = old is None or old.digest != s.digest or old.name != label
        results.append(AddResult(s.path, ptr.pointer_path(s.path), s.digest, s.size, s.kind, s.files, label,
                                 old.version if old and not changed else None, changed, count))
        if not changed:
            continue
        meta: dict[str, Any] = dict(metadata or {})
        meta.update({"path": path_text(relpath(s.path, ws.root)),
                     "pointer": path_text(relpath(ptr.pointer_path(s.path), ws.root))})
        if s.files is not None:
            meta["files"] = s.files
        payload: dict[str, Any] = {"digest": str(s.digest), "kind": kind, "size": s.size, "name": label,
                                   "metadata": meta}
        if s.kind == "directory":
            payload["media_type"] = MANIFEST_MEDIA_TYPE
        new_events.append(ev.NewEvent(ev.ARTIFACT_RECORDED, payload))
    opener.result()
    if profiles is not None and new_events:
        new_events += profiles.events(ws, {s.path: str(s.digest) for s in scans})
    if new_events:
        ws._record(new_events)
        for r in results:
            if r.changed:
                found = ws._ledger.get_artifact(str(r.digest)) if ws._ledger is not None else None
                if found is None or found.name != r.name:  # recorded before under another name
                    found = ws.client.artifact(str(r.digest), r.name)
                r.version = found.version if found.name == r.name else None
    # 4. pointers, then .gitignore
    for s, r in zip(scans, results):
        if r.changed or not r.pointer.exists():
            ptr.write(
                r.pointer,
                ptr.Pointer(s.path.name, s.digest, s.size, s.kind, s.files, r.name, r.version),
                relpath(s.path, ws.root),
            )
        ensure_gitignored(s.path)
    return results



def _profiles(ws: Workspace, targets: Sequence[Path], kind: str) -> AddProfiles | None:
    """Profiles for the tabular files among the targets (None, and nothing imported, when there are none)."""
    from ..datasets import FORMATS

    if kind != "dataset" or not any(t.suffix.lower() in FORMATS for t in targets):
        return None
    from ..datasets.hooks import AddProfiles

    found = AddProfiles(ws, targets, kind)
    return found if found.wanted else None


def store(ws: Workspace, s: Scan) -> int:
    """Put a scanned path's blobs into the cache; returns how many were new."""
    modes = ws.settings.link_modes
    count = 0
    if s.kind == "file":
        assert s.stat is not None
        if ws.cache.store_file(s.path, s.digest, modes, s.stat) != "present":
            count += 1
        return count
    assert s.tree is not None
    tree = s.tree
    raw = s.digests
    previous = s.previous
    if (previous is not None and previous.stored and s.fresh is not None
            and ws.cache.has(Digest.parse(previous.digest))):
        # The last add stored every object of the previous manifest (gc and fsck --repair forget it; the
        # manifest itself is the canary for a cache emptied by hand): only the files not reused from it
        # can name objects the cache lacks.
        candidates: Iterable[int] = reversed(s.fresh)
    else:
        candidates = reversed(range(len(tree.names)))
    unique = {raw[32 * i : 32 * i + 32].hex(): i for i in candidates}  # one file per digest (the first)
    have = ws.cache.present_hex(list(unique))
    todo = [(i, h) for h, i in unique.items() if h not in have]
    base = str(s.path)

    def store(items: list[tuple[int, str]]) -> int:
        return sum(ws.cache.store_file(Path(f"{base}/{tree.names[i]}"), Digest.sha256(h), modes,
                                         tree.stat_of(i), known_absent=True) != "present" for i, h in items)

    if len(todo) > 512 and ws.settings.jobs > 1:
        # link + stat + chmod + rename per file: system calls, which release the GIL
        from concurrent.futures import ThreadPoolExecutor

        step = 256
        with ThreadPoolExecutor(max_workers=ws.settings.jobs) as pool:
            count += sum(pool.map(store, [todo[i : i + step] for i in range(0, len(todo), step)]))
    else:
        count += store(todo)
    if not ws.cache.has(s.digest):
        ws.cache.put_bytes(s.manifest)
        count += 1
    if previous is None or previous.digest != str(s.digest) or not previous.stored:
        ws.statcache.put_tree(base, TreeRecord(tree, s.digests, str(s.digest), s.size, stored=True))
    return count



def warn_if_shared(modes: Sequence[str]) -> None:
    """A hardlink or symlink makes the workspace file and the cache object one file: say so at every add."""
    shared = [m for m in modes if m in SHARING_MODES]
    if shared:
        sys.stderr.write(
            f'warning: [data] link = "{",".join(modes)}" shares files between the workspace and '
            "the cache: editing a tracked file in place changes the stored version too "
            '(use "reflink,copy" to keep versions safe)\n'
        )
