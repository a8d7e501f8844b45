"""Run reuse: before a tracked step runs, ask whether a completed run with the same key produced outputs.

``mlineage.run(job, reuse=True, inputs=[...], outputs=[...])`` and ``@mlineage.track(reuse=True)`` open a
``ReusableRun``. Its start computes the cache key (``key.py``) from what this process captures (the code
and environment terms are cached per process) and the inputs' digests, and looks it up: one indexed row in
``run_keys`` (``records.py``), on a team server through its ``/api/v1/reproduce/lookup`` route.

* A hit restores the original's outputs from the artifact store, each re-hashed before it takes its name
  (``data/get.py``); the run is then recorded as a ``reused`` run (``RunReused``: a ``REUSES`` edge from the
  original) with the same inputs and outputs, and the body is skipped (``run.reused`` is the original).
  A stored output that is missing or fails its digest check makes the hit a miss.
* A miss runs the step and, when it completes, records its key (``RunKeyed``) so that the next call hits.
  ``run.lookup`` says why it missed: the terms that differ from the newest keyed run of the same job.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IntegrityError, MlineageError, NotFoundError
from ..events import NewEvent
from ..model import Artifact, ArtifactKind, Run
from ..sdk.run import ActiveRun
from .key import CacheKey, differing, environment_term, make_key
from .records import RUN_KEYED, RUN_REUSED

if TYPE_CHECKING:
    from ..sdk.client import Client

log = logging.getLogger("mlineage.reuse")
MANIFEST_MEDIA_TYPE = "application/vnd.mlineage.manifest+json"


@dataclass
class Lookup:
    """The answer to a reuse look-up: the hit's run and outputs, or why it missed."""

    key: CacheKey
    hit: str | None = None
    outputs: list[dict[str, Any]] = field(default_factory=list)  # digest, path, kind, role, media_type
    nearest: str | None = None
    differing: list[str] = field(default_factory=list)
    reason: str = ""

    def explain(self) -> str:
        if self.hit is not None:
            return f"hit: run {self.hit[:12]} has key {self.key.key[:19]}…"
        return f"miss (key {self.key.key[:19]}…): {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key.key,
            "terms": dict(self.key.terms),
            "hit": self.hit,
            "outputs": self.outputs,
            "nearest": self.nearest,
            "differing": list(self.differing),
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Lookup:
        return cls(
            CacheKey(d["key"], dict(d["terms"])),
            d.get("hit"),
            list(d.get("outputs") or []),
            d.get("nearest"),
            list(d.get("differing") or []),
            str(d.get("reason") or ""),
        )


# ---------------------------------------------------------------- keys


def live_key(
    job: str,
    params: Mapping[str, Any],
    inputs: Iterable[tuple[str, str]],
    source_files: tuple[str, ...] = (),
    cwd: Path | None = None,
) -> CacheKey:
    """The key of a step about to run in this process (its code and environment as captured now)."""
    from ..capture.run_context import capture_run

    context = capture_run(source_files, cwd).context
    env = environment_term(context["python"]["version"], context["environment"]["packages_digest"])
    return make_key(job, context["code"]["key"], env, params, inputs)


# ---------------------------------------------------------------- look-up


def lookup(client: Client, key: CacheKey) -> Lookup:
    """Find a completed run with this key whose outputs are all stored (see the module docstring)."""
    request = getattr(client.store, "request", None)
    if request is not None and getattr(client.store, "engine", None) is None:  # a team server answers
        return Lookup.from_dict(request("POST", "/reproduce/lookup", json=key.to_dict()))
    from ..model import Digest
    from .records import keyed_rows
    from .remote import retrievable

    hits, nearest = keyed_rows(client.store, key.key, key.terms["job"])
    stale: list[str] = []
    has = retrievable(client)  # the artifact store, or the push remote
    for run_id, outputs in hits:
        if not outputs or not all(has(Digest.parse(o["digest"])) for o in outputs):
            stale.append(run_id)
            continue
        return Lookup(key, run_id, outputs)
    found = Lookup(key)
    if stale:
        found.reason = f"run {stale[0][:12]} has this key but its outputs are not all in the artifact store"
        found.nearest = stale[0]
        return found
    if nearest is None:
        found.reason = "no completed run of this job has recorded a key yet"
        return found
    found.nearest, found.differing = nearest[0], differing(key.terms, nearest[1])
    found.reason = f"run {nearest[0][:12]} of the same job differs in: {', '.join(found.differing)}"
    return found


def key_event(run_id: str, key: CacheKey, outputs: Iterable[tuple[Artifact, str]]) -> NewEvent:
    """The ``RunKeyed`` event of a completed run: its key, terms and outputs (what a hit restores)."""
    return NewEvent(
        RUN_KEYED,
        {
            "run_id": run_id,
            "key": key.key,
            "terms": key.terms,
            "outputs": [_output(a, r) for a, r in outputs],
        },
    )


def _output(a: Artifact, role: str) -> dict[str, Any]:
    path = a.metadata.get("path") if isinstance(a.metadata, dict) else None
    return {
        "digest": str(a.digest),
        "path": path,
        "kind": a.kind.value,
        "role": role or None,
        "media_type": a.media_type,
    }


def restore(client: Client, output: Mapping[str, Any], target: Path) -> None:
    """Place a stored output at ``target``, verified (IntegrityError/NotFoundError when it cannot be)."""
    from ..data.get import _copy_verified, _get_directory
    from ..model import Digest
    from .remote import ensure_local

    digest = Digest.parse(output["digest"])
    if not ensure_local(client, digest):  # fetched from the push remote when only there
        raise NotFoundError(f"output {digest.short} is not in the artifact store")
    target.parent.mkdir(parents=True, exist_ok=True)
    if output.get("media_type") == MANIFEST_MEDIA_TYPE:
        _get_directory(client.blobs, digest, target)
    else:
        _copy_verified(client.blobs, digest, target)


def output_targets(outputs: list[dict[str, Any]], wanted: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Match a hit's recorded outputs to the paths this call declares: by recorded path, else (one and one)
    the single output; a declared path with no match makes the hit unusable (KeyError)."""
    by_path = {o["path"]: o for o in outputs if o.get("path")}
    matched: dict[str, dict[str, Any]] = {}
    for path in wanted:
        if path in by_path:
            matched[path] = by_path[path]
        elif len(wanted) == 1 and len(outputs) == 1:
            matched[path] = outputs[0]
        else:
            raise KeyError(path)
    return matched


# ---------------------------------------------------------------- the run


class ReusableRun(ActiveRun):
    """A tracked run that may be answered from the cache (see the module docstring)."""

    def __init__(
        self,
        job: str,
        *,
        inputs: Iterable[str | os.PathLike[str]] = (),
        outputs: Mapping[str, str] | Iterable[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(job, **kwargs)
        self.input_paths = [str(p) for p in inputs]
        self.output_kinds: dict[str, str] = (
            {str(k): str(v) for k, v in outputs.items()}
            if isinstance(outputs, Mapping)
            else {str(o): ArtifactKind.FILE.value for o in outputs}
        )
        self.lookup: Lookup | None = None
        self.reused: Run | None = None

    def start(self) -> ReusableRun:
        if self._started:
            return self
        from ..hashing import directory_manifest, hash_file, manifest_digest

        digests = []
        for path in self.input_paths:
            source = Path(path)
            if source.is_dir():
                digests.append(("", str(manifest_digest(directory_manifest(source)))))
            elif source.is_file():
                digests.append(("", str(hash_file(source)[0])))
            else:
                digests.append(("", str(self._artifact_of_ref(path).digest)))
        key = live_key(self.job, self.params, digests, self.source_files)
        self.lookup = found = lookup(self.client, key)
        if found.hit is not None:
            try:
                targets = output_targets(found.outputs, self.output_kinds)
                for path, output in targets.items():
                    restore(self.client, output, Path(path))
                self.reused = self.client.store.get_run(found.hit)
            except (IntegrityError, NotFoundError, KeyError) as exc:
                what = f"declared output {exc} is not among its outputs" if isinstance(exc, KeyError) else exc
                found.reason = f"run {found.hit[:12]} has this key, but {what}"
                found.nearest, found.hit = found.hit, None
        log.info("reuse %s: %s", self.job, found.explain())
        super().start()
        for path in self.input_paths:
            self.use(path)
        return self

    def end(self, status: str = "completed", error: dict[str, str] | None = None) -> None:
        if self._ended or not self._started:
            return super().end(status, error)
        assert self.lookup is not None
        try:
            if status == "completed":
                for path, kind in self.output_kinds.items():
                    if not any(str(a.metadata.get("path")) == path for a in self.outputs):
                        self.produce(path, kind=kind)
                if self.reused is not None:
                    self.write_events(
                        [
                            NewEvent(
                                RUN_REUSED,
                                {
                                    "run_id": self.id,
                                    "original_run_id": self.reused.id,
                                    "key": self.lookup.key.key,
                                },
                            )
                        ]
                    )
                else:
                    outputs = [(a, "") for a in self.outputs]
                    self.write_events([key_event(self.id, self.lookup.key, outputs)])
        except MlineageError as exc:
            status, error = "failed", {"type": type(exc).__name__, "message": str(exc)}
        super().end(status, error)
