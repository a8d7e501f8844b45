"""The run-reuse cache key: job, code, environment, params and input digests, each hashed on its own.

Pure functions. A key is the SHA-256 of the five term digests, so a miss can say which term differed (the
terms are kept beside the key). The same functions compute the key of a step about to run (from what this
process captured) and of a recorded run (from its context), so both sides of a look-up are built alike.

The code term is the commit, the digest of the uncommitted diff and the digests of untracked source files
-- or, when the run named its source files (``source_files=``, the step's declared code as in a dvc.yaml's
``deps``), the entry script and those files only, so that a commit touching another step leaves it alone.
Branch and remote are not part of it: a clone at the same commit is the same code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..model import Artifact, Run

TERMS = ("job", "code", "environment", "params", "inputs")
# roles of a run's context manifests: the code and environment terms stand for them
CONTEXT_ROLES = frozenset({"code", "environment"})


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class CacheKey:
    """A cache key and the digests of the terms it was made from."""

    key: str
    terms: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "terms": dict(self.terms)}


def code_term(manifest: Mapping[str, Any]) -> str:
    """The code term of a code manifest document (``capture/code.py``); see the module docstring."""
    entry = manifest.get("entry") or {}
    files = manifest.get("files") or []
    if files:
        basis: dict[str, Any] = {
            "entry": [entry.get("path"), entry.get("digest")] if entry else None,
            "files": sorted([f["path"], f["digest"]] for f in files),
        }
    else:
        git = manifest.get("git") or {}
        basis = {
            "commit": git.get("commit"),
            "diff": git.get("diff_sha256"),
            "untracked": sorted([f["path"], f["digest"]] for f in git.get("untracked", ())),
        }
        if not git.get("commit"):
            basis["entry"] = [entry.get("path"), entry.get("digest")] if entry else None
    return _digest(basis)


def environment_term(
    python_version: str | None, packages_digest: str | None, image_digest: str | None = None
) -> str:
    """Interpreter version, the installed package list's digest and the container image digest: not the
    environment manifest's own digest, which also holds paths and variables that differ between clones."""
    return _digest({"python": python_version, "packages": packages_digest, "image": image_digest})


def make_key(
    job: str, code: str, environment: str, params: Mapping[str, Any], inputs: Iterable[tuple[str, str]]
) -> CacheKey:
    """The key of a step: ``inputs`` are (role, digest) pairs of its data inputs (order does not matter)."""
    terms = {
        "job": _digest(job),
        "code": code,
        "environment": environment,
        "params": _digest(dict(params)),
        "inputs": _digest(sorted([role or "", digest] for role, digest in inputs)),
    }
    return CacheKey(_digest([terms[t] for t in TERMS]), terms)


def recorded_code_term(context: Mapping[str, Any]) -> str | None:
    """The code term a run recorded (``context.code.key``), or one rebuilt from its git summary for runs
    recorded before the key was captured; None when neither is there."""
    code = context.get("code")
    if isinstance(code, Mapping) and isinstance(code.get("key"), str):
        return str(code["key"])
    git = context.get("git")
    if isinstance(git, Mapping) and git.get("commit"):
        return _digest({"commit": git.get("commit"), "diff": git.get("diff_sha256"), "untracked": []})
    return None


def recorded_environment_term(context: Mapping[str, Any]) -> str | None:
    python = context.get("python")
    environment = context.get("environment")
    if not isinstance(python, Mapping) or not isinstance(environment, Mapping):
        return None
    image = (
        context.get("container", {}).get("image_digest")
        if isinstance(context.get("container"), Mapping)
        else None
    )
    return environment_term(python.get("version"), environment.get("packages_digest"), image)


def recorded_key(run: Run, inputs: Iterable[tuple[Artifact, str]]) -> CacheKey | None:
    """The key of a recorded run, from its context and input edges; None when its code or environment was
    not captured."""
    code, env = recorded_code_term(run.context), recorded_environment_term(run.context)
    if code is None or env is None:
        return None
    return make_key(run.job, code, env, run.params, data_inputs(inputs))


def data_inputs(inputs: Iterable[tuple[Artifact, str]]) -> list[tuple[str, str]]:
    """(role, digest) of a run's data inputs: its code and environment manifests are terms of their own."""
    return [(role or "", str(a.digest)) for a, role in inputs if (role or "") not in CONTEXT_ROLES]


def differing(wanted: Mapping[str, str], found: Mapping[str, str]) -> list[str]:
    """The terms two keys disagree on, in ``TERMS`` order."""
    return [t for t in TERMS if wanted.get(t) != found.get(t)]
