"""Data versioning commands: add, status, checkout, push, pull, get, gc, fsck.

Start-up matters here (``status`` runs in every shell prompt and pre-commit hook), so the module imports
only click; each command imports the workspace inside its body, and only ``add`` and ``gc`` reach the ledger
(SQLAlchemy). Every command has --json; progress bars appear only on an interactive terminal.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .data_quick import add_json, add_lines, human_size
from .options import JOBS_OPTION, JSON_OPTION, REMOTE_OPTION
from .output import emit_json

if TYPE_CHECKING:
    from ..data.workspace import Workspace



def _workspace() -> Workspace:
    from ..data.workspace import Workspace

    return Workspace()


@click.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--name", help="Artifact name (default: the path relative to the project). One path only.")
@click.option(
    "--kind",
    default="dataset",
    show_default=True,
    type=click.Choice(["dataset", "model", "code", "config", "metrics", "file", "directory", "other"]),
    help="Artifact kind recorded in the ledger.",
)
@click.option("--semver", is_flag=True,
              help="Give each new version a semantic version proposed from its diff with the one before "
                   "(also: [datasets] semver = true in .mlineage/config.toml).")
@click.option("--version", "override", metavar="X.Y.Z",
              help="Record this semantic version instead of the proposed one (the record says so). "
                   "One path.")
@click.option("--key", "key", metavar="COL[,COL]",
              help="With --semver: compare rows by these columns, so changed values are a patch (kept "
                   "for the name's next versions).")
@JSON_OPTION
def add_command(paths: tuple[Path, ...], name: str | None, kind: str, semver: bool, override: str | None,
                key: str | None, as_json: bool) -> None:
    """Version files and directories: store their content, record them, write PATH.lin pointers.

    Content is hashed with SHA-256 (unchanged files are never re-hashed), stored once in the cache, recorded
    as an artifact in the ledger, and PATH is added to the .gitignore beside it. Commit the .lin pointer.
    """
    from ..datasets.hooks import after_add, check_override, semver_lines

    ws = _workspace()
    try:
        check_override(ws, paths, name, override)
        results = ws.add(list(paths), name=name, kind=kind, quiet=as_json)
        keys = [k.strip() for k in key.split(",") if k.strip()] if key else None
        proposals = after_add(ws, results, semver=semver, override=override, key=keys)
    finally:
        ws.close()
    if as_json:
        rows = add_json(results, ws.root)
        for row in rows:
            row["semver"] = next((p for p in proposals if p["digest"] == row.get("digest")), None)
        emit_json(rows)
        return
    for line in add_lines(results, ws.root) + semver_lines(proposals):
        click.echo(line)


@click.command("status")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--exit-code",
    is_flag=True,
    help="Exit 1 when any tracked path is modified, missing or invalid (as git diff --exit-code), for CI.",
)
@JSON_OPTION
def status_command(paths: tuple[Path, ...], exit_code: bool, as_json: bool) -> None:
    """Show which tracked paths changed, are missing, or have invalid pointers.

    Exit status 0, or 1 when a pointer file is invalid (with --exit-code: when anything is not up to date).
    """
    ws = _workspace()
    try:
        entries = ws.status(list(paths) or None)
    finally:
        ws.close()
    if as_json:
        emit_json([e.to_dict(ws.root) for e in entries])
    else:
        changed = [e for e in entries if e.state != "unchanged"]
        if not entries:
            click.echo("no tracked data (add some with `mlineage add PATH`)")
        elif not changed:
            n = len(entries)
            click.echo(f"up to date: {n} tracked path{'s' if n != 1 else ''} "
                       f"match{'' if n != 1 else 'es'} {'their pointers' if n != 1 else 'its pointer'}")
        for e in changed:
            rel = e.to_dict(ws.root)["path"]
            parts = [f"{len(e.added)} new", f"{len(e.removed)} deleted", f"{len(e.changed)} modified"]
            detail = e.detail or (
                ", ".join(p for p in parts if not p.startswith("0 "))
                if e.added or e.removed or e.changed
                else ""
            )
            click.echo(f"{e.state + ':':10} {rel}" + (f"  ({detail})" if detail else ""))
            for label, items in (("new", e.added), ("deleted", e.removed), ("modified", e.changed)):
                for item in items[:20]:
                    click.echo(f"             {label}: {item}")
                if len(items) > 20:
                    click.echo(f"             ... {len(items) - 20} more {label}")
    sys.exit(1 if any(e.state == "invalid" or (exit_code and e.state != "unchanged") for e in entries) else 0)


@click.command("checkout")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-f", "--force", is_flag=True, help="Overwrite changes that are not in the cache (they are lost)."
)
@click.option("--no-fetch", is_flag=True, help="Use only the local cache; never download from the remote.")
@JSON_OPTION
def checkout_command(paths: tuple[Path, ...], force: bool, no_fetch: bool, as_json: bool) -> None:
    """Restore tracked data to what its pointers say (from the cache, else from the remote).

    A PATH written NAME@N (e.g. data@1, or a semantic version: data@1.4.0) restores version N of that name
    and points its pointer file at it.
    Every object is verified against its digest before it is placed; a corrupted one is never used.
    """
    import os

    versions = [str(p) for p in paths if "@" in str(p) and not os.path.lexists(p)]
    plain = [p for p in paths if str(p) not in versions]
    ws = _workspace()
    try:
        done = (
            ws.checkout(plain, force=force, fetch=not no_fetch, quiet=as_json) if plain or not paths else []
        )
        restored = [_checkout_version(ws, spec, force, not no_fetch, as_json) for spec in versions]
    finally:
        ws.close()
    if as_json:
        emit_json(
            [dict(e.to_dict(ws.root), action=action) for e, action in done]
            + [
                dict(e.to_dict(ws.root), action=action, name=a.name, version=a.version, digest=str(a.digest))
                for a, e, action in restored
            ]
        )
        return
    changed = [(e, a) for e, a in done if a != "unchanged"]
    for e, action in changed:
        click.echo(f"{action}: {e.to_dict(ws.root)['path']}")
    for a, e, action in restored:
        click.echo(
            f"{a.name}@{a.version} ({a.digest.short}) {'already in' if action == 'unchanged' else 'now in'} "
            f"{e.to_dict(ws.root)['path']}; its pointer names version {a.version}"
        )
    if not changed and not restored:
        click.echo(f"up to date: {len(done)} tracked path{'s' if len(done) != 1 else ''}")


def _checkout_version(ws: Workspace, spec: str, force: bool, fetch: bool, quiet: bool) -> Any:
    from ..data.restore import checkout_version
    from ..versions import resolve_version_ref

    name, version = resolve_version_ref(ws.client.store, spec)
    return checkout_version(ws, name, version, force=force, fetch=fetch, quiet=quiet)


def _transfer_output(kind: str, report: Any, as_json: bool, where: str) -> None:
    if as_json:
        emit_json(dict(report.to_dict(), remote=where))
        return
    click.echo(f"{kind} {report.transferred} object(s), {human_size(report.bytes)} ({where}); "
               f"{report.already} already there")
    if report.missing_locally:
        click.echo(
            f"warning: {len(report.missing_locally)} object(s) named by pointers are not in the local "
            f"cache (e.g. {report.missing_locally[0]}); pull them from where they were added",
            err=True,
        )


@click.command("push")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@REMOTE_OPTION
@JOBS_OPTION
@click.option(
    "--all", "all_objects", is_flag=True, help="Push every cached object, not only what pointers name."
)
@JSON_OPTION
def push_command(paths: tuple[Path, ...], remote: str | None, jobs: int | None, all_objects: bool,
                 as_json: bool) -> None:
    """Upload the objects the pointers name that the remote lacks (only those, in parallel batches).

    Large files go up in multipart chunks. An interrupted push leaves only complete objects on the remote;
    run it again to send the rest.
    """
    from ..data.transfer import push

    ws = _workspace()
    try:
        target = ws.remote(remote)
        report = push(ws, target, ws.pointers(list(paths)) if paths else None, all_objects=all_objects,
                      quiet=as_json, jobs=jobs)
    finally:
        ws.close()
    _transfer_output("pushed", report, as_json, target.uri)


@click.command("pull")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@REMOTE_OPTION
@JOBS_OPTION
@click.option("--no-checkout", is_flag=True, help="Only fill the cache; leave the workspace as it is.")
@click.option(
    "-f", "--force", is_flag=True, help="Let the checkout overwrite changes that are not in the cache."
)
@JSON_OPTION
def pull_command(
    paths: tuple[Path, ...],
    remote: str | None,
    jobs: int | None,
    no_checkout: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Download the objects the pointers name that the cache lacks, verify each, then check the data out."""
    from ..data.transfer import pull

    ws = _workspace()
    try:
        target = ws.remote(remote)
        chosen = ws.pointers(list(paths)) if paths else None
        report = pull(ws, target, chosen, quiet=as_json, jobs=jobs)
        done = (
            [] if no_checkout else ws.checkout(list(paths) or None, force=force, fetch=False, quiet=as_json)
        )
    finally:
        ws.close()
    if as_json:
        emit_json(dict(report.to_dict(), remote=target.uri,
                       checkout=[dict(e.to_dict(ws.root), action=a) for e, a in done]))
        return
    _transfer_output("pulled", report, False, target.uri)
    for e, action in done:
        if action != "unchanged":
            click.echo(f"{action}: {e.to_dict(ws.root)['path']}")


@click.command("get")
@click.argument("ref")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path),
              help="Where to write it. Default: the file or folder name it was recorded from.")
@click.option("-f", "--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@JSON_OPTION
def get_command(ref: str, output: Path | None, force: bool, as_json: bool) -> None:
    """Fetch an artifact's bytes by name, name@version or digest, verified against its digest.

    Works in any folder: the bytes come from the configured artifact store (with MLINEAGE_URI set to a team
    server, the server's). A directory artifact is fetched with all its files.
    """
    from ..cli.context import open_client
    from ..data.get import get

    client = open_client()
    try:
        fetched = get(client, ref, output, force=force)
    finally:
        client.close()
    if as_json:
        emit_json(fetched.to_dict())
        return
    label = fetched.artifact.name or fetched.artifact.digest.short
    if fetched.artifact.version:
        label += f"@{fetched.artifact.version}"
    files = f", {fetched.files} files" if fetched.files != 1 or fetched.artifact.media_type else ""
    click.echo(
        f"{label} -> {fetched.path} ({human_size(fetched.size)}{files}, verified "
        f"{fetched.artifact.digest.short})"
    )


@click.command("gc")
@click.option("--dry-run/--force", "dry_run", default=True, show_default=True,
              help="Only list what would be removed (the default); --force removes it.")
@click.option("-w", "--workspace", "workspace_only", is_flag=True,
              help="Keep only what the current pointers reach, ignoring older versions the ledger records.")
@click.option("--keep-last", type=int, metavar="N",
              help="Retention: keep the newest N recorded versions of each name; older ones may go.")
@click.option("--older-than", metavar="AGE|TIME",
              help="Retention: recorded versions older than this may go (30d, 12h, or an RFC 3339 time).")
@JSON_OPTION
def gc_command(dry_run: bool, workspace_only: bool, keep_last: int | None, older_than: str | None,
               as_json: bool) -> None:
    """Remove cache objects that no pointer file and no ledger record reaches.

    Without --force it only lists them. Objects of every version the ledger records are kept unless
    --workspace is given, or a retention rule (--keep-last, --older-than; both: both must hold) lets old
    versions go. A retention rule never removes an ancestor of a registered, aliased or deployed model
    version: those are listed as protected, with why.
    """
    from ..data.maintenance import gc

    cutoff = _cutoff(older_than) if older_than is not None else None
    ws = _workspace()
    try:
        report = gc(ws, dry_run=dry_run, workspace_only=workspace_only, keep_last=keep_last,
                    older_than=cutoff)
    finally:
        ws.close()
    if as_json:
        emit_json(report.to_dict())
        return
    verb = "would remove" if dry_run else "removed"
    for digest, why in sorted(report.protected.items()):
        click.echo(f"protected {report.labels.get(digest, digest[:19])} ({digest[:19]}): " + "; ".join(why))
    for d in report.unreachable[:50]:
        label = report.expired.get(str(d))
        click.echo(f"{verb} {d}" + (f" (expired: {label})" if label else ""))
    if len(report.unreachable) > 50:
        click.echo(f"... and {len(report.unreachable) - 50} more")
    click.echo(f"{verb} {len(report.unreachable)} object(s), {human_size(report.bytes)}; kept {report.kept}"
               + (" (dry run: pass --force to remove)" if dry_run and report.unreachable else ""))


def _cutoff(text: str) -> Any:
    """``30d``, ``12h``, ``45m`` before now, or an RFC 3339 time."""
    from ..data.retention import cutoff

    return cutoff(text)


@click.command("fsck")
@click.option(
    "--repair", is_flag=True, help="Delete corrupted objects so that `mlineage pull` can fetch them again."
)
@JSON_OPTION
def fsck_command(repair: bool, as_json: bool) -> None:
    """Re-hash every object in the cache; report corrupted objects and referenced objects that are missing.

    Exit status 0 when the cache is sound, 1 otherwise.
    """
    from ..data.maintenance import fsck

    ws = _workspace()
    try:
        report = fsck(ws, repair=repair, quiet=as_json)
    finally:
        ws.close()
    if as_json:
        emit_json(report.to_dict())
    else:
        for d, actual in report.corrupted:
            click.echo(f"corrupted: {d} (its bytes hash to {actual})" + (" - removed" if repair else ""))
        for d in report.missing:
            click.echo(f"missing:   {d}")
        click.echo(
            f"checked {report.checked} object(s): {len(report.corrupted)} corrupted, "
            f"{len(report.missing)} missing" + ("" if report.ok else "; run `mlineage pull` to refetch")
        )
    sys.exit(0 if report.ok else 1)


COMMANDS = [
    add_command,
    status_command,
    checkout_command,
    push_command,
    pull_command,
    get_command,
    gc_command,
    fsck_command,
]
