"""Materialise what a recorded run needs, away from the user's files: the code at its commit (plus the
stored uncommitted diff and untracked sources) in a clone of its own, and every input by digest.

The clone is ``git clone --shared --no-checkout`` of the user's repository into the work folder, then a
detached checkout: the user's working tree, index and refs are never touched (the clone borrows the object
store read-only). Inputs are copied from the artifact store (local cache, S3 or the team server), each
re-hashed before it takes its name, to the path the run recorded, relative to the folder it started in.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MlineageError, NotFoundError, ValidationError
from ..model import Artifact, Digest, Run

if TYPE_CHECKING:
    from ..sdk.client import Client


class ReproduceError(MlineageError):
    """A reproduce cannot go on; the message says what is missing and what to do."""


def _git(
    *args: str, cwd: Path | None = None, input: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    git = shutil.which("git")
    if git is None:
        raise ReproduceError("git is not on PATH: reproduce checks the code out with git")
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    return subprocess.run([git, *args], cwd=cwd, input=input, capture_output=True, env=env, check=False)


def repository_root(start: Path) -> Path:
    from ..capture.git import find_git_dir, work_tree_of

    git_dir = find_git_dir(start)
    if git_dir is None:
        raise ReproduceError(
            f"{start} is not inside a git repository: run reproduce in the repository the "
            "run's code came from"
        )
    return work_tree_of(git_dir)


@dataclass
class CodeState:
    """The code to check out: a commit, an optional diff (bytes) and untracked files (path → digest)."""

    commit: str
    diff: bytes | None = None
    untracked: dict[str, str] = field(default_factory=dict)
    label: str = "recorded"


def read_blob(client: Client, digest: str, what: str) -> bytes:
    from .remote import ensure_local

    d = Digest.parse(digest)
    if not ensure_local(client, d):
        raise ReproduceError(f"{what} {d.short} is not in the cache or remote `{client.blobs.uri}`")
    with client.blobs.open(d) as handle:
        data: bytes = handle.read()
    import hashlib

    if hashlib.sha256(data).hexdigest() != d.hex:
        raise ReproduceError(f"{what} {d.short} in `{client.blobs.uri}` fails its digest check")
    return data


_manifests: dict[str, dict[str, Any]] = {}


def code_manifest(client: Client, run: Run) -> dict[str, Any] | None:
    """The run's recorded code manifest document (cached by digest), or None when none was captured."""
    code = run.context.get("code")
    digest = code.get("digest") if isinstance(code, Mapping) else None
    if not isinstance(digest, str):
        return None
    if digest not in _manifests:
        _manifests[digest] = json.loads(read_blob(client, digest, "code manifest"))
    return _manifests[digest]


def recorded_code(client: Client, run: Run) -> CodeState:
    """The code state a run recorded, with the stored diff and untracked files."""
    git = run.context.get("git") if isinstance(run.context.get("git"), Mapping) else None
    if not git or not git.get("commit"):
        raise ReproduceError(
            f"run {run.id[:12]} ({run.job}) recorded no git commit: its code cannot be checked out"
        )
    diff = None
    if git.get("diff_sha256"):
        diff = read_blob(client, str(git["diff_sha256"]), "the uncommitted diff")
    elif git.get("dirty") and git.get("changed_files"):
        raise ReproduceError(f"run {run.id[:12]} ran on a dirty tree whose diff was not recorded")
    manifest = code_manifest(client, run) or {}
    untracked = {f["path"]: f["digest"] for f in (manifest.get("git") or {}).get("untracked", ())}
    return CodeState(str(git["commit"]), diff, untracked)


def current_code(root: Path) -> CodeState:
    """The code of the user's working tree now: HEAD, its uncommitted diff and untracked sources."""
    head = _git("rev-parse", "HEAD", cwd=root)
    if head.returncode != 0:
        raise ReproduceError(f"{root} has no commit yet: commit the pipeline's code first")
    diff = _git("diff", "HEAD", "--binary", "--no-ext-diff", "--no-color", "--no-textconv", cwd=root).stdout
    from ..capture.code import _dirty_state

    state = _dirty_state(root, True)
    untracked = {f["path"]: f["digest"] for f in state.get("untracked", ())}
    return CodeState(head.stdout.decode().strip(), diff or None, untracked, "current")


def checkout(client: Client, repo: Path, code: CodeState, tree: Path) -> None:
    """Clone ``repo`` into ``tree`` at ``code.commit``, then apply the diff and place untracked files."""
    found = _git("cat-file", "-e", f"{code.commit}^{{commit}}", cwd=repo)
    if found.returncode != 0:
        raise ReproduceError(f"commit {code.commit[:12]}… not found in this repository ({repo}) (fetch it?)")
    if tree.exists():
        raise ValidationError("workdir", f"{tree} already exists", "pass an empty or new --workdir")
    done = _git("clone", "--quiet", "--shared", "--no-checkout", str(repo), str(tree))
    if done.returncode != 0:
        raise ReproduceError(f"could not clone {repo}: {done.stderr.decode(errors='replace').strip()}")
    done = _git("checkout", "--quiet", "--detach", code.commit, cwd=tree)
    if done.returncode != 0:
        raise ReproduceError(
            f"could not check out {code.commit[:12]}: {done.stderr.decode(errors='replace')}"
        )
    if code.diff:
        done = _git("apply", "--binary", "--whitespace=nowarn", "-", cwd=tree, input=code.diff)
        if done.returncode != 0:
            raise ReproduceError(
                f"the stored diff does not apply to {code.commit[:12]}: "
                f"{done.stderr.decode(errors='replace').strip()}"
            )
    from .reuse import restore

    for rel, digest in sorted(code.untracked.items()):
        restore(client, {"digest": digest}, tree / rel)


def input_target(artifact: Artifact, start: Path) -> Path | None:
    """Where a recorded input goes in the work tree (None: recorded by absolute path outside it)."""
    path = artifact.metadata.get("path") if isinstance(artifact.metadata, dict) else None
    if not isinstance(path, str) or not path:
        return None
    if os.path.isabs(path):
        return None
    return start / path


def place_inputs(
    client: Client, inputs: list[tuple[Artifact, str]], start: Path, replaced: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Copy every data input to its recorded path under ``start`` (``replaced`` maps a recorded digest to
    the one an upstream re-run produced instead). Returns what was placed."""
    from ..data.get import MANIFEST_MEDIA_TYPE
    from .key import CONTEXT_ROLES
    from .reuse import restore

    placed = []
    for artifact, role in inputs:
        if (role or "") in CONTEXT_ROLES:
            continue
        digest = (replaced or {}).get(str(artifact.digest), str(artifact.digest))
        target = input_target(artifact, start)
        if target is None:
            path = artifact.metadata.get("path") if isinstance(artifact.metadata, dict) else None
            if isinstance(path, str) and Path(path).exists():
                from ..hashing import hash_file

                if Path(path).is_file() and str(hash_file(Path(path))[0]) == digest:
                    placed.append({"digest": digest, "path": path, "placed": False})
                    continue
            raise ReproduceError(
                f"input {digest[:19]}… was recorded by absolute path ({path}) and that file "
                "no longer holds it: record inputs by paths relative to the run's folder"
            )
        try:
            restore(
                client,
                {
                    "digest": digest,
                    "media_type": artifact.media_type if artifact.media_type == MANIFEST_MEDIA_TYPE else None,
                },
                target,
            )
        except NotFoundError:
            raise ReproduceError(
                f"input {digest[:19]}… ({artifact.metadata.get('path')}) is not in the cache "
                f"or remote `{client.blobs.uri}`"
            ) from None
        placed.append({"digest": digest, "path": str(target.relative_to(start)), "placed": True})
    return placed


# ---------------------------------------------------------------- the environment


def environment_differences(client: Client, inputs: list[tuple[Artifact, str]], run: Run) -> list[str]:
    """What differs between the recorded environment manifest and this interpreter: Python, then packages
    ("numpy 2.4.6 recorded, 2.3.0 installed")."""
    import platform

    from ..capture.environment import packages

    out: list[str] = []
    recorded_python = (
        (run.context.get("python") or {}).get("version")
        if isinstance(run.context.get("python"), Mapping)
        else None
    )
    if recorded_python and recorded_python != platform.python_version():
        out.append(f"python {recorded_python} recorded, {platform.python_version()} running")
    manifest = next(
        (a for a, role in inputs if role == "environment" and a.kind.value == "environment"), None
    )
    if manifest is None:
        return out
    doc = json.loads(read_blob(client, str(manifest.digest), "environment manifest"))
    recorded = {p["name"]: p["version"] for p in doc.get("packages", ())}
    return out + package_differences(recorded, dict(packages()[0]))


def package_differences(recorded: Mapping[str, str], installed: Mapping[str, str]) -> list[str]:
    """Each package whose version differs, by name: "numpy 2.4.6 recorded, 2.3.0 installed"."""
    out = []
    for name in sorted(set(recorded) | set(installed)):
        a, b = recorded.get(name), installed.get(name)
        if a == b:
            continue
        if a is None:
            out.append(f"{name} {b} installed, not recorded")
        elif b is None:
            out.append(f"{name} {a} recorded, not installed")
        else:
            out.append(f"{name} {a} recorded, {b} installed")
    return out
