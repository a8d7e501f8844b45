"""``mlineage versions NAME``: every version of a name, with its digest, size, who recorded it and when, and
which runs used it."""

from __future__ import annotations

from typing import Any

import click

from .context import client_session
from .options import AS_OF_OPTION, JSON_OPTION
from .output import console, emit_json


def version_rows(client: Any, name: str) -> list[dict[str, Any]]:
    """One dict per version of ``name``, oldest first (the JSON of ``versions`` and ``show NAME``)."""
    from ..versions import versions_of

    rows = []
    for v in versions_of(client.store, name):
        a = v.artifact
        used_by = client.store.consumers_of(str(a.digest))
        rows.append({"version": a.version, "digest": str(a.digest), "kind": a.kind.value, "size": a.size,
                     "recorded_at": v.recorded_at, "recorded_by": v.actor, "seq": v.seq or None,
                     "path": a.metadata.get("path"),
                     "used_by": [{"id": r.id, "job": r.job, "status": r.status.value} for r in used_by]})
    return rows


@click.command("versions")
@click.argument("name")
@AS_OF_OPTION
@JSON_OPTION
def versions_command(name: str, as_of: str | None, as_json: bool) -> None:
    """List every version of NAME: digest, size, who recorded it and when, and the runs that used it.

    Datasets numbered with `mlineage add --semver` show their semantic version, row count and the reasons
    for the number; rollbacks are listed under the version they went back to. Restore one into the workspace
    with `mlineage checkout NAME@N` (or NAME@1.4.0).
    """
    from rich.markup import escape
    from rich.table import Table

    from ..versions import missing_version

    with client_session() as client:
        rows = client.dataset_versions(name, as_of=client.as_of_seq(as_of) if as_of else None)
        if not rows:
            raise missing_version(client.store, name, None)
    if as_json:
        emit_json(rows)
        return
    semvers = any(r["semver"] for r in rows)
    counted = any(r["rows"] is not None for r in rows)
    headers = ["version", *(["semver"] if semvers else []), "digest", "size", *(["rows"] if counted else [])]
    table = Table(*headers, "recorded", "by", "used by", box=None)
    for row in rows:
        used = ", ".join(f"{r['job']} {r['id'][:12]}" for r in row["used_by"]) or "-"
        cells = [f"{escape(name)}@{row['version']}"]
        if semvers:
            cells.append((row["semver"] or "-") + (" (set by hand)" if row["overridden"] else ""))
        cells += [row["digest"][:19], human_size(row["size"])]
        if counted:
            cells.append("-" if row["rows"] is None else f"{row['rows']:,}")
        table.add_row(*cells, row["recorded_at"] or "", escape(row["recorded_by"] or "-"), escape(used))
    out = console()
    out.print(table)
    for row in rows:
        if row["semver"] and row["reasons"]:
            out.print(f"{escape(name)}@{row['semver']}: " + escape("; ".join(row["reasons"][:6])))
        for rb in row["rollbacks_to"]:
            old = rb["from"]
            came = f" from @{old['version']}" if old else ""
            why = f": {rb['reason']}" if rb["reason"] else ""
            out.print(f"rolled back to {escape(name)}@{row['version']}{came} by {escape(rb['by'] or '-')} "
                      f"at {rb['at']}{escape(why)}")


def human_size(size: int | None) -> str:
    from .data_quick import human_size as size_text

    return "-" if size is None else size_text(size)


COMMANDS = [versions_command]
