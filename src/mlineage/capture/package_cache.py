"""The installed-package manifest remembered on disk between processes, keyed on where packages live.

Listing every installed distribution (``importlib.metadata`` opens each ``*.dist-info`` folder) is slow in a
venv of a few hundred packages: every training script would pay that on its first tracked run, more than its
whole tracking overhead. Installing, removing or upgrading a package adds or removes a ``*.dist-info`` folder,
which changes the modification time of the folder holding it, so the manifest is stored under a key built from
the interpreter and, for every ``sys.path`` folder, its identity and modification time. The script's own
folder (``sys.path[0]``) changes whenever the script writes there, so for it only the names and times of the
package metadata folders it holds enter the key.

The cache lives in ``$MLINEAGE_CACHE_DIR`` (default ``$XDG_CACHE_HOME/mlineage`` or ``~/.cache/mlineage``);
``MLINEAGE_CACHE_DIR=off`` turns it off. A damaged or unreadable entry is ignored: the manifest is then listed
again, exactly as without the cache. Not seen: a metadata file edited in place, or distributions provided by a
custom ``sys.meta_path`` finder rather than a folder on ``sys.path``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

Manifest = tuple[tuple[tuple[str, str], ...], str]  # ((name, version), ...), digest
KEEP_ENTRIES = 16  # older entries (from earlier states of this or other environments) are removed
_METADATA_SUFFIXES = (".dist-info", ".egg-info")


def cache_dir() -> Path | None:
    configured = os.environ.get("MLINEAGE_CACHE_DIR")
    if configured == "off":
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mlineage"


def environment_key() -> str:
    parts = [sys.version, sys.executable, sys.prefix]
    for i, entry in enumerate(sys.path):
        folder = entry or os.getcwd()
        try:
            st = os.stat(folder)
        except OSError:
            parts.append(f"{folder}\0-")
            continue
        if i == 0 and os.path.isdir(folder):
            parts.append(f"{folder}\0" + "\0".join(_metadata_folders(folder)))
        else:
            parts.append(f"{folder}\0{st.st_dev}\0{st.st_ino}\0{st.st_mtime_ns}\0{st.st_size}")
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def _metadata_folders(folder: str) -> list[str]:
    found = []
    with os.scandir(folder) as entries:
        for e in entries:
            if e.name.endswith(_METADATA_SUFFIXES):
                found.append(f"{e.name}:{e.stat(follow_symlinks=False).st_mtime_ns}")
    return sorted(found)


def cached_manifest(compute: Callable[[], Manifest], digest_of: Callable[[list[list[str]]], str]) -> Manifest:
    """The manifest for this environment from the disk cache, else ``compute()``d and stored.

    ``digest_of`` recomputes an entry's digest from its items: an entry whose digest does not match (a torn or
    edited file) is not believed."""
    folder = cache_dir()
    if folder is None:
        return compute()
    path = folder / f"packages-{environment_key()[:40]}.json"
    try:
        document = json.loads(path.read_bytes())
        items = [[str(name), str(version)] for name, version in document["items"]]
        if digest_of(items) == document["digest"]:
            return tuple((name, version) for name, version in items), document["digest"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    manifest = compute()
    _store(folder, path, manifest)
    return manifest


def _store(folder: Path, path: Path, manifest: Manifest) -> None:
    """Write the entry atomically (temp file + rename) and prune old ones; a failure only costs the next run
    a listing."""
    items, digest = manifest
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temp.write_text(json.dumps({"items": [list(i) for i in items], "digest": digest}))
        os.replace(temp, path)
        entries = sorted(folder.glob("packages-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP_ENTRIES:]:
            old.unlink(missing_ok=True)
    except OSError:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
