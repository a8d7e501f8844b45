"""The code and environment terms of the working tree and interpreter now, and a step's key against them.

``--upstream`` compares, for each step, the key it recorded with the key it would have now (``step_keys``).
Both the full check (``service.py``, through the Client) and the first-call path of a no-op check
(``quick.py``, on plain ``sqlite3``) use this one class, so they cannot judge a step differently; they differ
only in how a run's recorded code manifest is read (``manifest_of``).
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .key import CacheKey, code_term, data_inputs, environment_term, make_key, recorded_key
from .materialise import CodeState, current_code

if TYPE_CHECKING:
    from ..model import Artifact, Run


class CurrentTerms:
    """Each term computed once: the environment at once, the working tree's code when a step needs it."""

    def __init__(self, repo: Path, manifest_of: Callable[[Run], dict[str, Any] | None]) -> None:
        self.repo, self.manifest_of = repo, manifest_of
        self._code: CodeState | None = None
        self._commit_term: str | None = None
        self.watched: set[str] = set()  # the declared source files the answer depends on
        from ..capture.environment import packages

        self.environment = environment_term(platform.python_version(), packages()[1])

    @property
    def code(self) -> CodeState:
        if self._code is None:
            self._code = current_code(self.repo)
        return self._code

    def code_term(self, run: Run) -> str:
        manifest = self.manifest_of(run) or {}
        if manifest.get("files"):  # the step declared its code: hash those files as they are now
            from ..capture.code import file_digest

            def now(rel: str) -> dict[str, Any]:
                found = file_digest(self.repo / rel)
                return {"path": rel, "digest": found[0] if found else None}

            entry = manifest.get("entry")
            doc: dict[str, Any] = {"files": [now(f["path"]) for f in manifest["files"]]}
            if entry:
                doc["entry"] = now(entry["path"])
            self.watched.update(
                f["path"] for f in doc["files"] + [doc.get("entry") or {"path": None}] if f["path"]
            )
            return code_term(doc)
        if self._commit_term is None:
            import hashlib

            code = self.code
            self._commit_term = code_term(
                {
                    "git": {
                        "commit": code.commit,
                        "diff_sha256": "sha256:" + hashlib.sha256(code.diff).hexdigest()
                        if code.diff
                        else None,
                        "untracked": [{"path": p, "digest": d} for p, d in code.untracked.items()],
                    }
                }
            )
        return self._commit_term

    def step_keys(
        self, run: Run, inputs: list[tuple[Artifact, str]], replaced: Mapping[str, str]
    ) -> tuple[CacheKey | None, CacheKey]:
        """(the key ``run`` recorded, the key it has now): its inputs replaced by what re-run steps produced,
        its code and environment as they are now. Equal keys: the step is up to date."""
        mapped = [(role, replaced.get(digest, digest)) for role, digest in data_inputs(inputs)]
        key = make_key(run.job, self.code_term(run), self.environment, run.params, mapped)
        return recorded_key(run, inputs), key
