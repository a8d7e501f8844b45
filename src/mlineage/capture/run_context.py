"""Full capture for one run: the run context plus the code and environment manifests as context artifacts.

``capture_run()`` is called by ``ActiveRun.start`` on every run, so the warm path is dictionary look-ups:
everything expensive (packages, lockfiles, git dirty state, hardware) is cached per process in the modules it
comes from, and the serialized manifests are cached here on what they were built from.

``context_events()`` turns a capture into ledger events: each manifest is stored once in the blob store and
recorded once (``ArtifactRecorded``, kind ``code`` / ``environment``), then linked to the run with
``ArtifactUsed`` edges whose roles are ``code`` and ``environment``. Identical manifests have identical
digests, so a thousand runs in one environment share one environment artifact.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import events as ev
from ..events import NewEvent
from ..ledger import canonical_json
from . import code as code_capture
from . import environment as env_capture
from .basic import static_context
from .determinism import determinism_flags
from .redact import redact_argv, redact_value

if TYPE_CHECKING:
    from ..sdk.client import Client

log = logging.getLogger("mlineage.capture")

CODE_MEDIA_TYPE = "application/vnd.mlineage.code+json"
ENVIRONMENT_MEDIA_TYPE = "application/vnd.mlineage.environment+json"
ROLE_CODE = "code"
REPRODUCES_VAR = "MLINEAGE_REPRODUCES"
ROLE_ENVIRONMENT = "environment"


@dataclass(frozen=True, slots=True)
class Manifest:
    kind: str  # "code" | "environment"
    digest: str
    data: bytes
    metadata: dict[str, Any]
    media_type: str
    # bytes (or files) the manifest names by digest, stored beside it: a dirty run's diff, untracked sources
    attachments: tuple[bytes | Path, ...] = ()


@dataclass(frozen=True, slots=True)
class Capture:
    context: dict[str, Any]
    manifests: tuple[Manifest, ...]


_bytes_cache: dict[Any, Manifest] = {}
_argv_cache: dict[tuple[str, ...], list[str]] = {}
_recorded: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def clear_cache() -> None:
    """Forget everything captured in this process (tests; or after installing packages mid-process)."""
    _bytes_cache.clear()
    _argv_cache.clear()
    code_capture.clear_cache()
    env_capture.clear_cache()


def _manifest(
    kind: str, key: Any, doc: dict[str, Any], metadata: dict[str, Any], media_type: str,
    attachments: tuple[bytes | Path, ...] = (),
) -> Manifest:
    cached = _bytes_cache.get(key)
    if cached is None:
        if len(_bytes_cache) > 256:
            _bytes_cache.clear()
        data = canonical_json(doc)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        cached = _bytes_cache[key] = Manifest(kind, digest, data, metadata, media_type, attachments)
    return cached


def _code_attachments(doc: dict[str, Any], root: Path) -> tuple[bytes | Path, ...]:
    """The uncommitted diff and the untracked source files a code manifest names by digest."""
    git = doc.get("git") or {}
    found: list[bytes | Path] = []
    if git.get("diff_sha256") and (diff := code_capture.diff_bytes(git["diff_sha256"])) is not None:
        found.append(diff)
    found.extend(root / f["path"] for f in git.get("untracked", ()))
    return tuple(found)


_code_keys: dict[str, str] = {}
_cwd_in_root: dict[tuple[str, str], str] = {}


def _code_key_term(manifest: Manifest, doc: dict[str, Any]) -> str:
    """The run-reuse code term of a code manifest (``reproduce/key.py``), once per manifest."""
    found = _code_keys.get(manifest.digest)
    if found is None:
        from ..reproduce.key import code_term

        if len(_code_keys) > 256:
            _code_keys.clear()
        found = _code_keys[manifest.digest] = code_term(doc)
    return found


def _relative_cwd(here: Path, root: Path) -> str:
    """The folder the run started in, relative to the repository root (where a re-run starts)."""
    key = (str(here), str(root))
    found = _cwd_in_root.get(key)
    if found is None:
        try:
            found = here.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            found = str(here)
        _cwd_in_root[key] = found
    return found


def _code_key(doc: dict[str, Any]) -> Any:
    git = doc.get("git") or {}
    entry = doc.get("entry") or {}
    return ("code", git.get("commit"), git.get("branch"), git.get("remote"), git.get("dirty"),
            git.get("diff_sha256"), tuple((f["path"], f["digest"]) for f in git.get("untracked", ())),
            entry.get("path"), entry.get("digest"),
            tuple((f["path"], f["digest"]) for f in doc.get("files", ())))


def redacted_argv() -> list[str]:
    key = tuple(sys.argv)
    found = _argv_cache.get(key)
    if found is None:
        found = _argv_cache[key] = redact_argv(key)
    return list(found)


def capture_run(source_files: tuple[str, ...] = (), cwd: Path | None = None) -> Capture:
    """Capture the run context and the code and environment manifests (cached per process)."""
    here = cwd or Path(os.getcwd())
    context = static_context()
    context["argv"] = redacted_argv()
    code_doc = code_capture.code_manifest(here, source_files)
    git = code_doc.get("git")
    root = Path(git_root) if (git_root := _git_root(here)) else here
    code_meta: dict[str, Any] = {}
    if git is not None:
        summary = {k: git[k] for k in ("commit", "branch", "remote", "dirty", "diff_sha256") if k in git}
        context["git"] = summary
        code_meta.update(summary)
    if "entry" in code_doc:
        code_meta["entry"] = code_doc["entry"]["path"]
    code_key = _code_key(code_doc)
    code = _bytes_cache.get(code_key) or _manifest("code", code_key, code_doc, code_meta, CODE_MEDIA_TYPE,
                                                   _code_attachments(code_doc, root))

    env_vars = env_capture.relevant_environ()
    torch_loaded = "torch" in sys.modules
    env_key = ("environment", str(root), torch_loaded, tuple(env_vars.items()))
    env = _bytes_cache.get(env_key)
    if env is None:
        env_doc = env_capture.environment_manifest(root)
        _, packages_digest = env_capture.packages()
        env_meta = {"python": env_doc["python"]["version"], "packages": len(env_doc["packages"]),
                    "packages_digest": packages_digest}
        if "container" in env_doc:
            env_meta["container"] = env_doc["container"]
        env = _manifest("environment", env_key, env_doc, env_meta, ENVIRONMENT_MEDIA_TYPE)

    context["code"] = {
        "digest": code.digest, "key": _code_key_term(code, code_doc),
        **({"entry": code_meta["entry"]} if "entry" in code_meta else {}),
    }
    context["cwd"] = _relative_cwd(here, root)
    context["determinism"] = determinism_flags(env_vars)
    if reproduces := env_vars.get(REPRODUCES_VAR):  # set by `mlineage reproduce` for the re-run it starts
        context["reproduces"] = reproduces
    context["environment"] = {"digest": env.digest, "packages_digest": env.metadata["packages_digest"]}
    container = env_capture.process_container()
    if container and container.get("container_id"):
        context["container_id"] = container["container_id"]
    k8s = env_capture.process_kubernetes()
    if k8s:
        context["kubernetes"] = redact_value(k8s)
    return Capture(context, (code, env))


_git_roots: dict[str, str | None] = {}


def _git_root(here: Path) -> str | None:
    key = str(here)
    if key not in _git_roots:
        from .git import find_git_dir, work_tree_of

        git_dir = find_git_dir(here)
        _git_roots[key] = str(work_tree_of(git_dir)) if git_dir is not None else None
    return _git_roots[key]


def context_events(client: Client, capture: Capture, run_id: str) -> tuple[list[NewEvent], list[str]]:
    """The events that record (when new to this store) and link the capture's manifests to a run.

    Returns (events, digests to mark as recorded once the events are appended)."""
    known = _recorded.setdefault(client, set())
    events: list[NewEvent] = []
    newly: list[str] = []
    for manifest in capture.manifests:
        if manifest.digest not in known:
            stored = client.blobs.put_bytes(manifest.data)  # a no-op when the blob is already there
            if str(stored) != manifest.digest:
                raise RuntimeError(
                    f"blob store hashed a {manifest.kind} manifest to {stored}, not {manifest.digest}"
                )
            _store_attachments(client, manifest)
            if not _known(client, manifest.digest):
                events.append(NewEvent(ev.ARTIFACT_RECORDED, {
                    "digest": manifest.digest, "kind": manifest.kind, "size": len(manifest.data),
                    "media_type": manifest.media_type, "metadata": manifest.metadata,
                }))
            newly.append(manifest.digest)
    for manifest in capture.manifests:
        events.append(
            NewEvent(
                ev.ARTIFACT_USED,
                {
                    "run_id": run_id,
                    "digest": manifest.digest,
                    "role": ROLE_CODE if manifest.kind == "code" else ROLE_ENVIRONMENT,
                },
            )
        )
    return events, newly


def _store_attachments(client: Client, manifest: Manifest) -> None:
    """Store what the manifest names by digest (a file that has gone since is skipped: the predicate then
    reports its bytes missing)."""
    for item in manifest.attachments:
        if isinstance(item, bytes):
            client.blobs.put_bytes(item)
        elif item.is_file():
            client.blobs.put_file(item)


def _known(client: Client, digest: str) -> bool:
    """Whether the store has the manifest's record; with the team server unreachable, no (recording it again
    is a no-op for the projections), so an outage costs the run neither its code nor its environment."""
    from ..errors import StoreUnavailableError

    try:
        return client.store.get_artifact(digest) is not None
    except StoreUnavailableError:
        return False


def mark_recorded(client: Client, digests: list[str]) -> None:
    if digests:
        _recorded.setdefault(client, set()).update(digests)


def forget_recorded(client: Client) -> None:
    _recorded.pop(client, None)
