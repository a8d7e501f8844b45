"""``mlineage add --semver`` (or ``[datasets] semver = true`` in ``.mlineage/config.toml``): after the add,
each new version of a name gets its semantic version, proposed from the diff with the version before."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, ValidationError

if TYPE_CHECKING:
    from ..data.add import AddResult
    from ..data.workspace import Workspace


def semver_setting(ws: Workspace) -> bool:
    """The project's ``[datasets] semver`` (False when unset)."""
    from ..config import read_config

    value = read_config(ws.root).get("datasets", {}).get("semver", False)
    if not isinstance(value, bool):
        raise ConfigError(f"{ws.root}/.mlineage/config.toml: [datasets] semver must be true or false")
    return value


def check_override(ws: Workspace, paths: Sequence[Any], name: str | None, override: str | None) -> None:
    """Refuse a ``--version`` that could not be recorded before ``add`` changes anything: a malformed
    number, several paths, a number taken or not after the name's latest."""
    if override is None:
        return
    from .records import records_for
    from .semver import later, parse

    parse(override)
    if len(paths) != 1:
        raise ValidationError("version", "given with several paths", "add them one at a time to number them")
    if name is None:
        from ..data.targets import relpath, resolve_target
        from ..pathtext import path_text

        name = path_text(relpath(resolve_target(ws.root, paths[0]), ws.root))
    rows = records_for(ws.client.store).versions(name)
    latest = rows[-1]["semver"] if rows else None
    if any(r["semver"] == override for r in rows):
        raise ValidationError(
            "version", f"{name}@{override} is already recorded", f"choose a version after {latest}"
        )
    if latest and not later(override, latest):
        raise ValidationError(
            "version",
            f"{override} does not come after {name}'s latest version {latest}",
            f"choose a version after {latest}",
        )


def after_add(
    ws: Workspace,
    results: Sequence[AddResult],
    *,
    semver: bool | None = None,
    override: str | None = None,
    key: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Record the semantic version of every new version ``add`` made (when asked or configured); rows are
    compared by ``key`` (else by the key the name was last numbered with, else by content)."""
    wanted = semver or override is not None or key is not None or semver_setting(ws)
    if not wanted:
        return []
    client = ws.client
    out = []
    for r in results:
        if not r.changed or r.version is None:
            continue
        proposal = client.give_semver(r.name, str(r.digest), r.version, override=override, key=key)
        out.append(proposal.to_dict())
    if out:
        client.write_checkpoint()
    return out


def semver_lines(proposals: Sequence[dict[str, Any]]) -> list[str]:
    lines = []
    for p in proposals:
        how = f"overridden; proposed {p['proposed']}" if p["overridden"] else p["level"]
        lines.append(f"{p['name']}@{p['version']} is {p['semver']} ({how})")
        lines += [f"  {reason}" for reason in p["reasons"][:20]]
    return lines
