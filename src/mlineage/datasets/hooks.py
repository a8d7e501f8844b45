"""``mlineage add --semver`` (or ``[datasets] semver = true`` in ``.mlineage/config.toml``): after the add,
each new version of a name gets its semantic version, proposed from the diff with the version before."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..background import Background
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


INLINE_MAX_DEFAULT = 64 << 20  # bytes; joining the chunks briefly holds twice as much


class AddProfiles:
    """The profiles of the tabular files ``add`` records as new dataset versions, computed from the bytes
    ``add`` reads to hash them: the hashing loop hands each chunk over (``on_chunk``), and DuckDB reads the
    table from memory while ``add`` stores the blobs and opens the ledger. A file up to
    ``MLINEAGE_PROFILE_INLINE_MAX`` bytes (default 64 MiB) is read once; a larger one, or one whose digest
    the stat cache knew (nothing was read), is profiled from disk. Folders and other files cost nothing here.
    ``[datasets] profile = false`` in ``.mlineage/config.toml`` turns it off."""

    def __init__(self, ws: Workspace, targets: Sequence[Path], kind: str) -> None:
        from .sources import format_of

        tables = [t for t in targets if kind == "dataset" and format_of(t.name) and t.is_file()]
        self.wanted = set(tables) if tables and profile_setting(ws) else set()
        self.limit = int(os.environ.get("MLINEAGE_PROFILE_INLINE_MAX", INLINE_MAX_DEFAULT))
        self.chunks: dict[Path, list[bytes]] = {}
        self.jobs: dict[Path, Background[Any]] = {}

    def on_chunk(self, target: Path) -> Callable[[bytes], object] | None:
        if target not in self.wanted or target.stat().st_size > self.limit:
            return None
        chunks = self.chunks[target] = []
        return chunks.append

    def start(self, target: Path, label: str) -> None:
        """Profile a target that ``add`` records as a new version (in the background)."""
        if target not in self.wanted:
            return
        chunks = self.chunks.pop(target, None)
        size = target.stat().st_size
        inline = b"".join(chunks) if chunks is not None and sum(map(len, chunks)) == size else None

        def run() -> Any:
            from .differ import Materialized
            from .model import Side
            from .service import compute_profile

            return compute_profile(Materialized(Side(label), target.name, path=target), inline)

        self.jobs[target] = Background(run, "mlineage-profile")

    def events(self, ws: Workspace, digests: Mapping[Path, str]) -> list[Any]:
        """The ``DatasetProfiled`` events of the profiles started, their documents stored in the cache; a
        file that cannot be read as a table is still added, with a warning and no profile."""
        from .versioning import profiled_event

        out = []
        for target, job in self.jobs.items():
            try:
                prof = job.result()
            except Exception as exc:  # noqa: BLE001 - a profile is extra: the version is recorded without it
                sys.stderr.write(f"warning: {target.name} was added without a profile: {exc}\n")
                continue
            profile_digest = ws.cache.put_bytes(prof.to_bytes())
            out.append(profiled_event(digests[target], str(profile_digest), prof.rows, len(prof.columns)))
        return out


def profile_setting(ws: Workspace) -> bool:
    """The project's ``[datasets] profile`` (True when unset)."""
    if not (ws.root / ".mlineage" / "config.toml").exists():
        return True
    from ..config import read_config

    value = read_config(ws.root).get("datasets", {}).get("profile", True)
    if not isinstance(value, bool):
        raise ConfigError(f"{ws.root}/.mlineage/config.toml: [datasets] profile must be true or false")
    return value
