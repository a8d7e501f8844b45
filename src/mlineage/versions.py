"""Versions of a name (``classifier@1``, ``@2``, ...): parsing ``name@N``, listing a name's versions, and the
error that lists them when the one asked for does not exist. A dataset's semantic version (``name@1.4.0``,
recorded by ``mlineage.datasets``) resolves to the version it was given to."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import NotFoundError, ValidationError
from .model import Artifact, NamedVersion

if TYPE_CHECKING:
    from .stores.protocol import MetadataStore


def parse_version_ref(ref: str) -> tuple[str, int | None]:
    """``name@N`` -> (name, N); ``name@latest`` -> (name, None). ``name@`` and ``name@x`` are errors."""
    name, at, text = ref.rpartition("@")
    if not at or not name:
        raise ValidationError("ref", f"{ref!r} is not name@version", "write name@3 or name@latest")
    if text == "latest":
        return name, None
    if not text:
        raise ValidationError(
            "ref", f"{ref!r} names no version", f"write {name}@<number>, {name}@latest or {name}"
        )
    if not text.isdigit():
        raise ValidationError("ref", f"version {text!r} in {ref!r} is not a number or a semantic version",
                              f"write {name}@3 or {name}@1.4.0")
    return name, int(text)


def resolve_version_ref(store: MetadataStore, ref: str) -> tuple[str, int | None]:
    """Like ``parse_version_ref``, and ``name@MAJOR.MINOR.PATCH`` is looked up among the name's semantic
    versions."""
    name, _, text = ref.rpartition("@")
    if name and text.count(".") == 2:
        from .datasets.versioning import version_number

        return name, version_number(store, name, text)
    return parse_version_ref(ref)


def versions_of(store: MetadataStore, name: str) -> list[NamedVersion]:
    """Every version of ``name``, oldest first."""
    return store.list_versions(name)


def version_of(store: MetadataStore, name: str, version: int | None) -> Artifact:
    """The artifact recorded as ``name@version`` (None: the latest), or NotFoundError listing what exists."""
    found = store.get_version(name, version)
    if found is not None:
        return found
    raise missing_version(store, name, version)


def missing_version(store: MetadataStore, name: str, version: int | None) -> NotFoundError:
    existing = [v.artifact.version for v in versions_of(store, name)]
    if not existing:
        return NotFoundError(
            f"no artifact is named {name!r}: `mlineage runs` and `mlineage show REF` show what was recorded"
        )
    shown = ", ".join(f"@{n}" for n in existing[:20]) + (
        f" ... @{existing[-1]}" if len(existing) > 20 else ""
    )
    return NotFoundError(f"{name} has no version {version}: its versions are {shown} "
                         f"(`mlineage versions {name}` lists them)")
