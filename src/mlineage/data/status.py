"""``status``: how each tracked path compares with its pointer (unchanged, modified, missing, invalid)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IntegrityError, ValidationError
from ..pathtext import path_text
from . import pointer as ptr
from .targets import relpath

if TYPE_CHECKING:
    from .workspace import Workspace


@dataclass
class StatusEntry:
    pointer: Path
    data: Path
    state: str  # unchanged | modified | missing | invalid
    detail: str = ""
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    def to_dict(self, root: Path) -> dict[str, Any]:
        out: dict[str, Any] = {"path": path_text(relpath(self.data, root)),
                               "pointer": path_text(relpath(self.pointer, root)), "state": self.state}
        if self.detail:
            out["detail"] = self.detail
        for key in ("added", "removed", "changed"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out



def status(ws: Workspace, paths: Sequence[str | os.PathLike[str]] | None = None, *, details: bool = True
           ) -> list[StatusEntry]:
    out = []
    for pointer in ws.pointers(paths):
        out.append(status_one(ws, pointer, details))
    return out

def status_one(ws: Workspace, pointer: Path, details: bool) -> StatusEntry:
    data = ptr.data_path(pointer)
    try:
        p = ptr.read(pointer)
    except ValidationError as exc:
        return StatusEntry(pointer, data, "invalid", str(exc))
    if not os.path.lexists(data):
        return StatusEntry(pointer, data, "missing")
    is_dir = data.is_dir() and not data.is_symlink()
    if is_dir != p.is_dir:
        return StatusEntry(
            pointer, data, "modified", f"was a {p.kind}, now a {'directory' if is_dir else 'file'}"
        )
    try:
        now = ws.scan(data)  # an unchanged directory: one walk, compared with the stat cache's copy
    except ValidationError as exc:
        return StatusEntry(pointer, data, "invalid", str(exc))
    if now.digest == p.digest:
        return StatusEntry(pointer, data, "unchanged")
    entry = StatusEntry(pointer, data, "modified")
    if is_dir and details and ws.cache.has(p.digest):
        try:
            old = {e.path: e for e in ws.read_manifest(p.digest)}
        except (IntegrityError, ValidationError):
            return entry
        new = {e.path: e for e in now.entries or []}
        entry.added = sorted(set(new) - set(old))
        entry.removed = sorted(set(old) - set(new))
        entry.changed = sorted(k for k in set(old) & set(new)
                               if (old[k].digest, old[k].mode) != (new[k].digest, new[k].mode))
    return entry

