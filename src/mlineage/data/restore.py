"""``mlineage checkout NAME@N``: put version N of a named artifact into the workspace and point its pointer
file at it, refusing (as every checkout does) to lose data that is not in the cache."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ValidationError
from ..model import Artifact
from . import pointer as ptr
from .add import MANIFEST_MEDIA_TYPE
from .checkout import checkout
from .status import StatusEntry
from .targets import ensure_gitignored, relpath, resolve_target

if TYPE_CHECKING:
    from .workspace import Workspace


def checkout_version(
    ws: Workspace,
    name: str,
    version: int | None,
    *,
    force: bool = False,
    fetch: bool = True,
    quiet: bool = False,
) -> tuple[Artifact, StatusEntry, str]:
    """Restore ``name@version`` (None: the latest) where its pointer file is, or, with no pointer, where the
    version was recorded from; returns (the version, status before, action)."""
    from ..versions import version_of

    artifact = version_of(ws.client.store, name, version)
    pointer = _pointer_for(ws, name, artifact)
    data = ptr.data_path(pointer)
    is_dir = artifact.media_type == MANIFEST_MEDIA_TYPE
    files = artifact.metadata.get("files") if is_dir else None
    wanted = ptr.Pointer(
        data.name,
        artifact.digest,
        int(artifact.size or 0),
        "directory" if is_dir else "file",
        files if isinstance(files, int) else None,
        name,
        artifact.version,
    )
    before = pointer.read_bytes() if pointer.exists() else None
    ptr.write(pointer, wanted, relpath(data, ws.root))
    try:
        [(entry, action)] = checkout(ws, [data], force=force, fetch=fetch, quiet=quiet)
    except BaseException:
        if before is None:  # a refusal changes nothing: the pointer goes back to what it was
            pointer.unlink()
        else:
            pointer.write_bytes(before)
        raise
    ensure_gitignored(data)
    return artifact, entry, action


def _pointer_for(ws: Workspace, name: str, artifact: Artifact) -> Path:
    named = []
    for pointer in ws.pointers(None):
        try:
            if ptr.read(pointer).name == name:
                named.append(pointer)
        except ValidationError:
            continue  # a broken pointer is reported by status; it cannot be the one named here
    if len(named) > 1:
        shown = ", ".join(relpath(p, ws.root) for p in named)
        raise ValidationError("checkout", f"several pointer files name {name}: {shown}",
                              "check out one of them by path")
    if named:
        return named[0]
    recorded = artifact.metadata.get("path")
    if not isinstance(recorded, str):
        raise ValidationError("checkout", f"no pointer file names {name} and its record has no path",
                              f"`mlineage add PATH --name {name}` first")
    return ptr.pointer_path(resolve_target(ws.root, ws.root / recorded, must_exist=False))
