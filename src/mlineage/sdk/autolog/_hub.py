"""Hugging Face Hub models in the local cache: a hub id → its cached snapshot folder → a content digest.

Nothing here touches the network: the snapshot is found with ``huggingface_hub``'s own cache API
(``try_to_load_from_cache``), in the cache ``from_pretrained`` used (``HF_HUB_CACHE``, ``HF_HOME/hub``, or a
``cache_dir`` passed to it). A snapshot's files are symlinks into the repo's ``blobs/`` folder; the digest is
of their *content*, named by the link names, so it equals the manifest digest of the same files written out as
a plain folder (``save_pretrained``, ``snapshot_download(local_dir=...)``, ``mlineage add``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...hashing import ManifestEntry, hash_many, manifest_digest, norm_mode

HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
COMMIT = re.compile(r"^[0-9a-f]{40}$")
MANIFEST_MEDIA_TYPE = "application/vnd.mlineage.manifest+json"


@dataclass(frozen=True)
class Snapshot:
    """A folder recorded by content: its manifest digest, total size and file count."""

    folder: Path
    digest: str
    size: int
    files: int


@dataclass(frozen=True)
class HubSnapshot:
    """A hub model found in the local cache: the id, the commit it resolved to, and its snapshot."""

    repo_id: str
    revision: str  # the commit hash of the snapshot folder
    revision_from: str  # how it was chosen: "requested" (revision=), "resolved" (the commit transformers
    # resolved a load without revision= to), "config" (config._commit_hash) or "refs/main" (the cache's main)
    snapshot: Snapshot


def folder_manifest(root: Path) -> list[ManifestEntry]:
    """Like ``hashing.directory_manifest``, but a symlink to a file counts as that file's content (under the
    link's name): a Hugging Face snapshot is all links into ``blobs/``. Dangling links and links to folders
    are skipped (``os.walk`` does not follow folder links). For a folder of plain files the two agree."""
    names: list[str] = []
    paths: list[Path] = []
    sizes: list[int] = []
    modes: list[int] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            full = Path(dirpath, filename)
            try:
                st = full.stat()  # follows a link to its target
            except OSError:  # a dangling link
                continue
            if not full.is_file():
                continue
            names.append(full.relative_to(root).as_posix())
            paths.append(full)
            sizes.append(st.st_size)
            modes.append(norm_mode(st.st_mode))
    hashed = hash_many(paths, sizes)
    return [ManifestEntry(n, d, s, m) for n, (d, s), m in zip(names, hashed, modes)]


_digested: dict[tuple[Any, ...], Snapshot] = {}


def _listing(root: Path) -> tuple[Any, ...]:
    """What a folder's digest depends on, by stat only: names, link targets, sizes, mtimes."""
    rows: list[tuple[Any, ...]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            full = os.path.join(dirpath, filename)
            try:
                st = os.stat(full)
            except OSError:
                continue
            rows.append((full, os.path.realpath(full), st.st_size, st.st_mtime_ns, st.st_mode))
    return (str(root.resolve()), *rows)


def snapshot_of(folder: str | os.PathLike[str]) -> Snapshot:
    """A folder's content digest, remembered per process while no file in it changes (by stat): a training
    script that fine-tunes the same multi-gigabyte base model several times hashes it once."""
    root = Path(folder)
    key = _listing(root)
    known = _digested.get(key)
    if known is not None:
        return known
    entries = folder_manifest(root)
    found = Snapshot(root, str(manifest_digest(entries)), sum(e.size for e in entries), len(entries))
    if len(_digested) > 64:
        _digested.clear()
    _digested[key] = found
    return found


def looks_like_hub_id(name: str) -> bool:
    return bool(HUB_ID.match(name)) and not os.path.exists(name)


def cache_dirs(extra: str | os.PathLike[str] | None = None) -> list[str]:
    """Where a hub model may be cached, most specific first: a ``cache_dir`` given to ``from_pretrained``, the
    cache ``huggingface_hub`` read at import, then the environment as it is now."""
    found: list[str] = []
    if extra:
        found.append(str(extra))
    try:
        from huggingface_hub import constants

        found.append(str(constants.HF_HUB_CACHE))
    except ImportError:
        pass
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):  # the second is the older name
        if os.environ.get(variable):
            found.append(os.environ[variable])
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface")
    found.append(os.path.join(home, "hub"))
    return [d for d in dict.fromkeys(os.path.expanduser(d) for d in found) if os.path.isdir(d)]


def find_hub_snapshot(repo_id: str, revision: str | None = None, *, config_commit: str | None = None,
                      cache_dir: str | os.PathLike[str] | None = None,
                      revision_from: str = "requested") -> HubSnapshot | None:
    """The cached snapshot a hub id was loaded from, digested; None when it is not in a local cache.

    ``revision`` is what the caller asked ``from_pretrained`` for (a branch, tag or commit), when known;
    otherwise ``config_commit`` (transformers 4 keeps it as ``config._commit_hash``), otherwise ``main`` as
    the cache's ``refs/main`` records it — what a load without ``revision=`` reads."""
    if not looks_like_hub_id(repo_id):
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    if revision:
        wanted, origin = revision, revision_from
    elif config_commit and COMMIT.match(config_commit):
        wanted, origin = config_commit, "config"
    else:
        wanted, origin = "main", "refs/main"
    for directory in cache_dirs(cache_dir):
        try:
            hit: Any = try_to_load_from_cache(repo_id, "config.json", cache_dir=directory, revision=wanted)
        except Exception:  # noqa: BLE001, S112 - a malformed id or cache is "not found", never an error
            continue
        if not isinstance(hit, str):  # None, or the "known not to exist" marker
            continue
        folder = Path(hit).parent
        commit = folder.name
        if not COMMIT.match(commit):
            continue
        return HubSnapshot(repo_id, commit, origin, snapshot_of(folder))
    return None
