"""The git commit of a working tree, read from ``.git`` directly (no subprocess: this runs on every run)."""

from __future__ import annotations

from pathlib import Path


def find_git_dir(start: Path) -> Path | None:
    for folder in (start.resolve(), *start.resolve().parents):
        candidate = folder / ".git"
        if candidate.is_dir():
            return candidate
        if candidate.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = candidate.read_text().strip()
            if text.startswith("gitdir:"):
                target = Path(text.split(":", 1)[1].strip())
                return target if target.is_absolute() else (folder / target).resolve()
    return None


def head_commit(git_dir: Path) -> tuple[str | None, str | None]:
    """(commit, branch) of HEAD; commit is None in a repository with no commits yet."""
    try:
        head = (git_dir / "HEAD").read_text().strip()
    except OSError:
        return None, None
    if not head.startswith("ref:"):
        return head or None, None
    ref = head.split(":", 1)[1].strip()
    branch = ref.removeprefix("refs/heads/")
    common = git_dir
    commondir = git_dir / "commondir"
    if commondir.exists():
        common = (git_dir / commondir.read_text().strip()).resolve()
    for base in (git_dir, common):
        ref_file = base / ref
        if ref_file.is_file():
            return ref_file.read_text().strip() or None, branch
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split(" ", 1)[0], branch
    return None, branch
