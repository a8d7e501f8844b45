"""``mlineage add PATH...`` without click: the console script's quick path, and the add command's output.

Re-adding a 10,000-file folder after one change should cost little more than a walk of it, so a plain
``add`` (paths, optionally ``--json``) skips loading click and the other commands. Anything else (an option,
``--help``, no path) goes to the full CLI, which prints the same lines through the same functions below, and
handles errors the same way: ``error: ...`` on stderr and exit status 1.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (and re) before the walk starts
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path
    from typing import Any

    from ..data.workspace import AddResult


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def json_text(value: Any) -> str:
    """What ``emit_json`` prints (without its newline)."""
    import json

    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def add_json(results: Sequence[AddResult], root: Path) -> list[dict[str, Any]]:
    from ..pathtext import path_text

    return [{"path": path_text(r.path.relative_to(root)), "pointer": path_text(r.pointer.relative_to(root)),
             "digest": str(r.digest), "size": r.size, "kind": r.kind, "files": r.files, "name": r.name,
             "version": r.version, "changed": r.changed, "stored_objects": r.stored} for r in results]


def add_lines(results: Sequence[AddResult], root: Path) -> list[str]:
    from ..pathtext import path_text

    lines = []
    for r in results:
        what = f"{r.files} files, " if r.files is not None else ""
        label = f"{r.name}@{r.version}" if r.version else r.name
        verb = "added" if r.changed else "unchanged"
        lines.append(
            f"{verb} {label}  {r.digest.short}  ({what}{human_size(r.size)})  -> {path_text(r.pointer.name)}"
        )
    changed = [r for r in results if r.changed]
    if changed:
        files = [path_text(r.pointer.relative_to(root)) for r in changed]
        files += sorted({path_text((r.path.parent / ".gitignore").relative_to(root)) for r in changed})
        if (root / "mlineage.checkpoint").exists():  # the ledger head, kept in git (mlineage.checkpoints)
            files.append("mlineage.checkpoint")
        lines.append(f"commit the pointer(s): git add {' '.join(files)}")
    return lines


def is_plain_add(args: Sequence[str]) -> bool:
    """``add`` with one or more paths and at most the --json flag: what the quick path takes."""
    paths = [a for a in args if a != "--json"]
    return bool(paths) and not any(a.startswith("-") for a in paths)


def _start_walks(paths: Sequence[str]) -> dict[str, Any]:
    """Start walking the named folders now (see ``blobs.walk.start_walk``) while Python loads the add
    machinery. ``add`` still checks every path first and uses a walk only for the folder it was started
    for."""
    import os

    from ..blobs.walk import start_walk

    walks = {}
    for raw in paths:
        full = os.path.abspath(raw)
        if full not in walks and os.path.isdir(full) and not os.path.islink(full):
            walks[full] = start_walk(full)
    return walks


def quick_add(args: Sequence[str]) -> int:
    """Run a plain ``add`` and return the exit status (as the click command would)."""
    from ..errors import MlineageError

    as_json = "--json" in args
    paths = [a for a in args if a != "--json"]
    proposals: list[Any] = []
    try:
        walks = _start_walks(paths)
        from pathlib import Path

        from ..data.workspace import Workspace

        ws = Workspace()
        try:
            results = ws.add([Path(a) for a in paths], quiet=as_json, walks=walks)
            if any(r.changed for r in results) and (ws.root / ".mlineage" / "config.toml").exists():
                from ..datasets.hooks import after_add  # [datasets] semver = true numbers new versions

                proposals = after_add(ws, results)
        finally:
            ws.close()
    except MlineageError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("\nAborted!\n")
        return 1
    if as_json:
        rows = add_json(results, ws.root)
        for row in rows:
            if proposals:
                row["semver"] = next((p for p in proposals if p["digest"] == row.get("digest")), None)
        text = json_text(rows)
    else:
        from ..datasets.hooks import semver_lines

        text = "\n".join(add_lines(results, ws.root) + semver_lines(proposals))
    sys.stdout.write(text + "\n" if text else "")
    return 0
