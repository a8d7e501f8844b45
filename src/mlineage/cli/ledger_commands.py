"""Ledger commands: verify the hash chain, rebuild projections, export the event log."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from .context import client_session, open_client
from .options import AS_OF_OPTION, JSON_OPTION
from .output import emit_json, progress


@click.command("verify")
@click.option("--file", "export_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Verify an exported JSONL ledger instead of the store.")
@click.option("--projections", is_flag=True,
              help="Also replay the ledger into scratch tables and compare them with the live projections.")
@JSON_OPTION
def verify_command(export_file: Path | None, projections: bool, as_json: bool) -> None:
    """Walk the hash chain and report the first altered, missing or reordered event; then check the ledger
    still holds the newest checkpoint (the project's mlineage.checkpoint, or an export's last line).

    Exit status 0 when the ledger (and, with --projections, every projection row) is intact, 1 when not.
    """
    from ..errors import ConfigError

    if export_file is not None:
        if projections:
            raise ConfigError("--projections compares a store's tables: it does not apply to --file")
        from ..exports import verify_export

        report = verify_export(export_file, lambda events: progress(events, None, "verifying"))
    else:
        client = open_client()
        report = client.verify()
    compared = None
    if projections and report.ok:
        from ..audit import compare_projections

        if not hasattr(client.store, "engine"):
            raise ConfigError("--projections runs where the database is: ask the server "
                              "(GET /api/v1/verify?projections=true)")
        compared = compare_projections(client.store)
    ok = report.ok and (compared is None or compared.ok)
    if as_json:
        emit_json(dict(report.to_dict(), ok=ok, projections=compared.to_dict() if compared else None))
    elif report.ok:
        extra = f", {report.redacted} erased payload(s)" if report.redacted else ""
        click.echo(
            f"OK: {report.count} events, chain intact{extra}; head {report.head_seq} {report.head_hash}"
        )
        for e in report.erased or []:
            click.echo(f"erased: event {e['seq']} ({e['type']}) by {e['by'] or '?'} at {e['at']}, authorised "
                       f"by {e['authorised_by']}" + (f" ({e['ticket']})" if e.get("ticket") else "")
                       + f": {e['reason']}")
        if report.checkpoint:
            click.echo(
                f"holds the checkpoint of {report.checkpoint.get('time')} (seq {report.checkpoint['seq']})"
            )
        if compared is not None and compared.ok:
            click.echo(f"projections: {compared.rows} rows match a replay of {compared.events} events")
        elif compared is not None:
            click.echo(f"FAILED: projections: {compared.problem}", err=True)
    else:
        click.echo(f"FAILED at event {report.first_bad_seq}"
                   + (f" (id {report.first_bad_id})" if report.first_bad_id else "")
                   + f": {report.problem}", err=True)
        click.echo(f"{report.count} events before it verified", err=True)
    sys.exit(0 if ok else 1)


@click.command("rebuild")
@click.option("--allow-broken", is_flag=True,
              help="On a ledger that does not verify, rebuild from the events before the first bad one.")
@JSON_OPTION
def rebuild_command(allow_broken: bool, as_json: bool) -> None:
    """Verify the ledger, then drop every projection table and replay the ledger into it (in one transaction).

    Refuses a ledger whose hash chain is broken (exit 1), since replaying it would copy the damage.
    """
    from ..audit import rebuild

    client = open_client()
    started = time.perf_counter()
    outcome = rebuild(client.store, allow_broken=allow_broken)
    seconds = time.perf_counter() - started
    if as_json:
        emit_json(dict(outcome.to_dict(), seconds=round(seconds, 3)))
    elif outcome.stopped_at is None:
        click.echo(f"Rebuilt projections from {outcome.replayed} events in {seconds:.2f}s")
    else:
        click.echo(
            f"Rebuilt projections from the first {outcome.replayed} events in {seconds:.2f}s; stopped before "
            f"event {outcome.stopped_at}, which does not verify: {outcome.problem}",
            err=True,
        )


@click.command("export")
@click.argument("ref", required=False)
@click.option("--format", "fmt", default="ledger", show_default=True,
              type=click.Choice(("ledger", "prov-json", "prov-n", "prov-jsonld", "prov-o", "cyclonedx",
                                 "openlineage")),
              help="ledger: every event as JSON Lines (no REF); the others describe REF's ancestry: W3C PROV "
                   "(JSON, PROV-N, PROV-JSONLD, PROV-O as RDF Turtle), a CycloneDX 1.6 ML-BOM, OpenLineage "
                   "RunEvents.")
@AS_OF_OPTION
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (default: standard output).")
def export_command(ref: str | None, fmt: str, as_of: str | None, output: Path | None) -> None:
    """Export the whole ledger as JSON Lines, or REF's provenance in a standard format (--format).

    The ledger export verifies offline with `mlineage verify --file FILE`; docs/export.md describes the
    provenance formats.
    """
    if fmt != "ledger":
        from .provenance_commands import export_document

        export_document(ref, fmt, as_of, output)
        return
    if ref is not None or as_of is not None:
        raise click.UsageError("the ledger export takes no REF or --as-of: pass --format to describe REF")
    from ..exports import write_export

    with client_session() as client:
        head_seq, _ = client.store.head()
        handle = output.open("w") if output else sys.stdout
        try:
            count = write_export(progress(client.store.iter_events(), head_seq, "exporting"), handle)
        finally:
            if output:
                handle.close()
    if output:
        click.echo(f"Exported {count} events to {output}", err=True)


COMMANDS = [verify_command, rebuild_command, export_command]
