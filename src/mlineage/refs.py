"""Turning what a user types (a digest prefix, a run id prefix, ``name@version``) into one node.

Every interpretation is tried and the candidates pooled, so a string that could mean two things is reported
as ambiguous with both candidates listed, never silently resolved to one.
"""

from __future__ import annotations

import re

from .errors import AmbiguousRefError, NotFoundError, ValidationError
from .model import Artifact, Run
from .pathtext import path_text
from .refhooks import NAMED_RESOLVERS, register_named_resolver  # noqa: F401  (the seam, re-exported)
from .stores.protocol import MetadataStore

_HEX = re.compile(r"^[0-9a-f]+$")
MIN_PREFIX = 4

def describe_candidate(node: Artifact | Run) -> str:
    if isinstance(node, Artifact):
        label = f" {node.name}@{node.version}" if node.name else ""
        return f"artifact {node.digest}{label} ({node.kind.value})"
    return f"run {node.id} {node.job} ({node.status.value}, started {node.started_at})"


def resolve(store: MetadataStore, ref: str) -> Artifact | Run:
    ref = path_text(ref.strip())  # a name that is not UTF-8 was recorded as git writes it
    if ref.startswith("sha256:") and "#" in ref:  # an output key of a later occurrence: the same content
        ref = ref.partition("#")[0]
    if not ref:
        raise ValidationError("ref", "is empty", "pass a digest, a run id, or name@version")
    candidates: dict[str, Artifact | Run] = {}

    def add(node: Artifact | Run) -> None:
        key = str(node.digest) if isinstance(node, Artifact) else f"run:{node.id}"
        candidates[key] = node

    if ref.startswith("run:"):
        for run in store.find_runs(ref[4:], limit=21):
            add(run)
    elif ref.lower().startswith("md5:"):  # another system's digest, recorded by an import (importers/)
        from .importers.queries import alias_targets

        for digest in alias_targets(store, ref):
            found = store.get_artifact(digest)
            if found is not None:
                add(found)
    elif ref.startswith("sha256:") and len(ref) == len("sha256:") + 64:
        exact = store.get_artifact(ref.lower())  # a full digest: one primary-key lookup
        if exact is not None:
            add(exact)
    elif ref.startswith("sha256:"):
        prefix = ref[len("sha256:"):].lower()
        if len(prefix) < MIN_PREFIX:
            raise ValidationError(
                "ref", f"digest prefix {ref!r} is too short", f"give at least {MIN_PREFIX} hex digits"
            )
        for artifact in store.find_artifacts("sha256:" + prefix, limit=21):
            add(artifact)
    else:
        if "@" in ref or "#" in ref:
            for named_resolver in NAMED_RESOLVERS:  # features' forms (refhooks.py): the registry's aliases
                found = named_resolver(store, ref)
                if isinstance(found, Artifact):
                    return found
        if "@" in ref:
            from .versions import resolve_version_ref, version_of

            return version_of(store, *resolve_version_ref(store, ref))
        named = store.get_version(ref)
        if named is not None:
            add(named)
        else:  # a bare name a feature knows (a registered model's latest version)
            for named_resolver in NAMED_RESOLVERS:
                found = named_resolver(store, ref)
                if isinstance(found, Artifact):
                    add(found)
                    break
        if len(ref) >= MIN_PREFIX and _HEX.match(ref.lower()):
            for artifact in store.find_artifacts("sha256:" + ref.lower(), limit=21):
                add(artifact)
        if len(ref) >= MIN_PREFIX:
            for run in store.find_runs(ref, limit=21):
                add(run)
    if not candidates:
        raise NotFoundError(
            f"nothing matches {ref!r}: use a digest (sha256:<hex> or a prefix of at least {MIN_PREFIX} hex "
            "digits), a run id or prefix, or name@version; `mlineage runs` lists runs"
        )
    if len(candidates) > 1:
        raise AmbiguousRefError(ref, [describe_candidate(n) for n in candidates.values()])
    return next(iter(candidates.values()))


def find_run(store: MetadataStore, ref: str) -> Run:
    """A run by its id or a unique prefix of it (``run:`` in front allowed). Several matches are an
    AmbiguousRefError listing them; none is a NotFoundError."""
    text = ref.strip().removeprefix("run:")
    if not text:
        raise ValidationError(
            "run", "is empty", "pass a run id or a unique prefix (`mlineage runs` lists them)"
        )
    exact = store.get_run(text)
    if exact is not None:
        return exact
    runs = store.find_runs(text, limit=21)
    if len(runs) == 1:
        return runs[0]
    if runs:
        raise AmbiguousRefError(ref, [describe_candidate(r) for r in runs])
    raise NotFoundError(f"no run id starts with {text!r}: `mlineage runs` lists them")


def resolve_run(store: MetadataStore, ref: str) -> Run:
    """A run by id or unique id prefix (``find_run``); or a named/digest artifact's producing run (``metrics
    classifier`` means the run that made it)."""
    try:
        return find_run(store, ref)
    except NotFoundError:
        if ref.startswith("run:"):
            raise
    node = resolve(store, ref)
    if isinstance(node, Run):
        return node
    producers = store.producers_of(str(node.digest))
    if len(producers) != 1:
        raise NotFoundError(
            f"{ref} is an artifact {'no run produced' if not producers else 'several runs produced'}"
            ": pass a run id (`mlineage runs` lists them)"
        )
    return producers[0]
