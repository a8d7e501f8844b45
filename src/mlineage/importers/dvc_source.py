"""Reading DVC history: the commits of a git repository (a range or its tags), or snapshot folders, and
the data behind DVC's md5 digests (workspace or DVC cache) to rehash it to sha256."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ValidationError
from ..hashing import directory_manifest, hash_file, manifest_digest
from .dvc import SOURCE, Snapshot, has_dvc, map_snapshot, snapshot_fingerprint
from .sink import ImportReport, Progress, Sink, known_units

if TYPE_CHECKING:
    from ..sdk.client import Client

_DVC_NAMES = ("dvc.yaml", "dvc.lock", "params.yaml")


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        fatal = next((line for line in lines if line.startswith(("fatal:", "error:"))), None)
        raise ValidationError(f"{repo}: git {args[0]}", fatal or (lines[0] if lines else "failed"),
                              "check the --rev range (git log A..B must list its commits)")
    return done.stdout


def is_git_repo(path: Path) -> bool:
    done = subprocess.run(["git", "-C", str(path), "rev-parse", "--show-toplevel"], capture_output=True,
                          text=True, check=False)
    return done.returncode == 0 and Path(done.stdout.strip()).resolve() == path.resolve()


def git_revisions(repo: Path, rev_range: str | None = None,
                  all_tags: bool = False) -> list[tuple[str, str, str]]:
    """(commit, label, commit time) oldest first: the commits of ``A..B`` (HEAD's history by default), or
    the tagged commits in history order (``all_tags``). A commit's label is its tags, or its short id."""
    tags: dict[str, list[str]] = {}
    for line in _git(repo, "for-each-ref", "--format=%(objectname) %(*objectname) %(refname:short)",
                     "refs/tags").splitlines():
        obj, peeled, name = line.split(" ", 2) if line.count(" ") >= 2 else (line.split(" ")[0], "", "")
        tags.setdefault(peeled or obj, []).append(name)
    if all_tags and not tags:
        raise ValidationError(str(repo), "has no tags", "import a --rev range instead")
    spec = ["--tags"] if all_tags else [rev_range or "HEAD"]
    out = []
    for line in _git(repo, "log", "--reverse", "--topo-order", "--format=%H%x09%cI", *spec).splitlines():
        commit, time = line.split("\t")
        if all_tags and commit not in tags:
            continue
        out.append((commit, ",".join(sorted(tags.get(commit, []))) or commit[:12], time))
    return out


def git_snapshot(repo: Path, commit: str, label: str, time: str) -> Snapshot:
    """The DVC files of one commit, read from git (nothing from the workspace)."""
    names = _git(repo, "ls-tree", "-r", "--name-only", commit).splitlines()
    wanted = [n for n in names if n in _DVC_NAMES or n.endswith(".dvc")]
    files = {n: _git(repo, "show", f"{commit}:{n}") for n in wanted}
    return Snapshot(rev=commit, label=label, files=files, time=time, origin=f"{repo}@{label}")


def folder_snapshot(folder: Path) -> Snapshot:
    """A folder holding one commit's DVC files (a checkout, or a copy of one tag)."""
    if not folder.is_dir():
        raise ValidationError(str(folder), "is not a folder")
    files = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if rel.startswith((".git/", ".dvc/")) or not path.is_file():
            continue
        if rel in _DVC_NAMES or rel.endswith(".dvc"):
            try:
                files[rel] = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ValidationError(str(path), f"cannot be read ({exc})") from None
    return Snapshot(rev=folder.name, label=folder.name, files=files, origin=str(folder))


def history(repo: Path, rev_range: str | None, all_tags: bool) -> Iterator[Snapshot]:
    for commit, label, time in git_revisions(repo, rev_range, all_tags):
        yield git_snapshot(repo, commit, label, time)


def snapshots(folders: Sequence[Path]) -> Iterator[Snapshot]:
    for folder in folders:
        yield folder_snapshot(folder)


class DataFinder:
    """Rehash what DVC names by md5, when the bytes are here: the workspace file or folder at that path
    (if its md5 matches), or the DVC cache (files; a folder from the cache needs its files' modes, which DVC
    does not keep). md5s of workspace paths are computed once per import."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self._md5: dict[str, str | None] = {}

    def __call__(self, path: str, alias: str) -> tuple[str, int] | None:
        if self.root is None:
            return None
        target = self.root / path
        if target.exists() and self._workspace_md5(path, target, alias.endswith(".dir")) == alias:
            if target.is_dir():
                entries = directory_manifest(target)
                return str(manifest_digest(entries)), sum(e.size for e in entries)
            digest, size = hash_file(target)
            return str(digest), size
        if not alias.endswith(".dir"):
            hexpart = alias.removeprefix("md5:")
            for cached in (self.root / ".dvc" / "cache" / "files" / "md5" / hexpart[:2] / hexpart[2:],
                           self.root / ".dvc" / "cache" / hexpart[:2] / hexpart[2:]):
                if cached.is_file() and _md5_file(cached) == hexpart:
                    digest, size = hash_file(cached)
                    return str(digest), size
        return None

    def _workspace_md5(self, key: str, target: Path, directory: bool) -> str | None:
        if key not in self._md5:
            if directory and target.is_dir():
                self._md5[key] = "md5:" + dir_md5(target) + ".dir"
            elif not directory and target.is_file():
                self._md5[key] = "md5:" + _md5_file(target)
            else:
                self._md5[key] = None
        return self._md5[key]


def _md5_file(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dir_md5(folder: Path) -> str:
    """DVC's digest of a folder: the md5 of its listing ``[{"md5": ..., "relpath": ...}]`` sorted by path,
    written as DVC writes it (``json.dumps(..., sort_keys=True)``)."""
    entries = []
    for base, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(base) / name
            entries.append({"md5": _md5_file(path), "relpath": path.relative_to(folder).as_posix()})
    entries.sort(key=lambda e: e["relpath"])
    return hashlib.md5(json.dumps(entries, sort_keys=True).encode(), usedforsecurity=False).hexdigest()


def import_dvc(client: Client, repo: Path | None = None, *, rev_range: str | None = None,
               all_tags: bool = False,
               folders: Sequence[Path] = (), progress: Progress | None = None,
               total: Callable[[int], None] | None = None, force: bool = False) -> ImportReport:
    """Import a repository's DVC history (or snapshot folders, in the order given) into ``client``'s ledger.
    Each commit is one unit: known commits are skipped, so a second import appends nothing."""
    report = ImportReport(SOURCE)
    if folders:
        items: list[Snapshot] | Iterator[Snapshot] = list(snapshots(folders))
        finder = DataFinder(repo)
        count = len(folders)
    else:
        root = (repo or Path.cwd()).resolve()
        if not root.is_dir():
            raise ValidationError(str(root), "is not a folder")
        if is_git_repo(root):
            revisions = git_revisions(root, rev_range, all_tags)
            items = (git_snapshot(root, c, label, t) for c, label, t in revisions)
            count = len(revisions)
        else:
            if rev_range or all_tags:
                raise ValidationError(str(root), "is not a git repository", "drop --rev/--all-tags")
            items, count = [folder_snapshot(root)], 1
        finder = DataFinder(root)
    if total:
        total(count)
    sink = Sink(client, report, progress)
    known = {} if force else known_units(client, SOURCE)
    without = 0
    for snapshot in items:
        report.units += 1
        if not has_dvc(snapshot):  # a commit before `dvc init`, say
            without += 1
            if progress:
                progress(1)
            continue
        events = map_snapshot(snapshot, finder)
        present = sorted(e.payload["metadata"]["dvc"]["md5"] for e in events
                         if e.type == "ArtifactRecorded" and "content" not in e.payload["metadata"])
        mark = snapshot_fingerprint(snapshot, {"rehashed": present})
        if known.get(snapshot.rev) == mark:
            sink.skip()
            continue
        sink.unit(events, snapshot.rev, mark, snapshot.origin)
    sink.flush()
    if report.units and without == report.units:
        raise ValidationError(str(repo or Path.cwd()), "has no DVC files (dvc.lock, *.dvc) in what was read",
                              "point at a DVC repository, or pick commits with --rev/--all-tags")
    if without:
        report.warnings.append(f"{without} commit(s) without DVC files skipped")
    return report
