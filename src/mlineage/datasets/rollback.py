"""``mlineage rollback NAME --to REF``: the checkout of an earlier version, recorded as a rollback event."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ..model import Artifact

if TYPE_CHECKING:
    from ..data.workspace import Workspace


def _target(ws: Workspace, name: str, to: str) -> Artifact:
    from ..versions import resolve_version_ref, version_of

    client = ws.client
    if to.startswith("@"):
        to = name + to
    if "@" in to:
        target_name, version = resolve_version_ref(client.store, to)
        if target_name != name:
            raise ValidationError(
                "to",
                f"{to} is a version of {target_name}, not of {name}",
                f"write {name}@N or {name}@MAJOR.MINOR.PATCH",
            )
        return version_of(client.store, name, version)
    node = client.resolve(to)
    if not isinstance(node, Artifact):
        raise ValidationError("to", f"{to!r} is a run, not a version of {name}")
    found = [v.artifact for v in client.store.list_versions(name) if v.artifact.digest == node.digest]
    if not found:
        raise ValidationError(
            "to", f"{to} is not a version of {name}", f"`mlineage versions {name}` lists them"
        )
    return found[-1]


def _current(ws: Workspace, name: str) -> Artifact | None:
    """The version the name's pointer names now (else the latest recorded)."""
    from ..data import pointer as ptr

    client = ws.client
    for pointer in ws.pointers(None):
        try:
            p = ptr.read(pointer)
        except ValidationError:
            continue
        if p.name == name:
            found = client.store.get_version(name, p.version) if p.version else None
            return found or client.store.get_artifact(str(p.digest))
    return client.store.get_version(name)


def rollback(
    ws: Workspace, name: str, to: str, *, reason: str = "", force: bool = False, quiet: bool = False
) -> dict[str, Any]:
    """Check the target version out (refusing to lose data not in the cache), then record the rollback."""
    from ..data.restore import checkout_version
    from .service import rollback_record

    target = _target(ws, name, to)
    current = _current(ws, name)
    if current is not None and current.digest == target.digest:
        raise ValidationError(
            "to",
            f"{name} is already at @{target.version}",
            "name an earlier version (`mlineage versions " + name + "` lists them)",
        )
    artifact, entry, _ = checkout_version(ws, name, target.version, force=force, quiet=quiet)
    payload = rollback_record(ws.client, name, current, artifact, reason)
    ws.client.write_checkpoint()
    return dict(payload, path=entry.to_dict(ws.root)["path"])
