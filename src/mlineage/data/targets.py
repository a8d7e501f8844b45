"""Which paths a data command may touch: user input checked against the project, and pointers found.

Every path a command writes (the data, its pointer, the ``.gitignore`` beside it) lies in the folder that
holds the data, so that folder is resolved through any symbolic links and must still be inside the project:
a link that leads elsewhere cannot make ``add`` or ``checkout`` write outside it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..blobs.placement import write_text_atomically
from ..config import PROJECT_DIR
from ..errors import ValidationError
from . import pointer as ptr

SKIP_DIRS = {PROJECT_DIR, ".git", ".hg", ".svn", ".venv", "venv", "__pycache__", "node_modules", ".dvc"}


def relpath(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def resolve_target(root: Path, raw: str | os.PathLike[str], *, must_exist: bool = True) -> Path:
    """The data path named by ``raw`` (a path or its pointer), checked: inside the project ``root`` (a
    resolved path) once its folder's symbolic links are followed, not in mlineage's or git's own folder, not
    inside a tracked directory; with ``must_exist``, present and not itself a symbolic link."""
    absolute = Path(os.path.abspath(Path(raw)))
    if absolute.name.endswith(ptr.SUFFIX):
        absolute = ptr.data_path(absolute)
    try:
        absolute.relative_to(root)
    except ValueError:
        raise ValidationError("path", f"{raw} is outside the project {root}",
                              "move the data into the project, or run the command from its project") from None
    real = Path(os.path.realpath(absolute.parent)) / absolute.name
    try:
        parts = real.relative_to(root).parts
    except ValueError:
        raise ValidationError(
            "path",
            f"{raw} leads to {real}, outside the project {root}, through a symbolic link",
            "move the data into the project",
        ) from None
    if not parts:
        raise ValidationError("path", f"{raw} is the project folder itself", "add the data folders inside it")
    if parts[0] in (PROJECT_DIR, ".git"):
        raise ValidationError("path", f"{raw} is inside {parts[0]}/, which mlineage manages itself")
    for parent in list(real.parents)[: len(parts) - 1]:
        if ptr.pointer_path(parent).exists():
            raise ValidationError("path", f"{raw} is inside the tracked directory {relpath(parent, root)}",
                                  f"add {relpath(parent, root)} as a whole instead")
    if must_exist and not os.path.lexists(real):
        raise ValidationError("path", f"{raw} does not exist", "check the path")
    if must_exist and real.is_symlink():
        raise ValidationError("path", f"{raw} is a symbolic link", "add the file or folder it points to")
    return real


def tracked_pointers(root: Path, paths: Sequence[str | os.PathLike[str]] | None = None) -> list[Path]:
    """Pointer files for the given paths (a tracked path, its pointer, or a folder to search), or all."""
    if not paths:
        return find_pointers(root)
    found: list[Path] = []
    for raw in paths:
        target = resolve_target(root, raw, must_exist=False)
        pointer = ptr.pointer_path(target)
        if pointer.is_file():
            found.append(pointer)
        elif target.is_dir() and not target.is_symlink():
            found.extend(find_pointers(target))
        else:
            raise ValidationError("path", f"{raw} is not tracked (no {pointer.name} beside it)",
                                  f"run `mlineage add {raw}` first")
    return sorted(set(found))


def find_pointers(start: Path) -> list[Path]:
    """Pointer files under start, not descending into tracked directories, hidden folders, venvs or links."""
    found: list[Path] = []
    stack = [start]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except (PermissionError, FileNotFoundError):
            continue
        names = {e.name for e in entries}
        for entry in entries:
            if entry.name.endswith(ptr.SUFFIX) and entry.is_file(follow_symlinks=False):
                found.append(Path(entry.path))
            elif (entry.is_dir(follow_symlinks=False) and entry.name not in SKIP_DIRS
                  and not entry.name.startswith(".") and entry.name + ptr.SUFFIX not in names):
                stack.append(Path(entry.path))
    return sorted(found)


def ensure_gitignored(data: Path) -> None:
    """Add ``/name`` to the .gitignore beside the data (atomically), once."""
    ignore = data.parent / ".gitignore"
    line = "/" + data.name
    text = ignore.read_text(encoding="utf-8", errors="surrogateescape") if ignore.exists() else ""
    if line in text.splitlines():
        return
    if text and not text.endswith("\n"):
        text += "\n"
    write_text_atomically(ignore, text + line + "\n")
