"""Ledger commands: verify the hash chain, rebuild projections, export the event log."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from .context import open_client
from .options import JSON_OPTION
from .output import emit_json, progress


@click.command("verify")
@click.option("--file", "export_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Verify an exported JSONL ledger instead of the store.")
@JSON_OPTION
def verify_command(export_file: Path | None, as_json: bool) -> None:
    """Walk the hash chain and report the first altered, missing or reordered event.

    Exit status 0 when the ledger is intact, 1 when it is not.
    """
    from ..ledger import verify_chain

    if export_file is not None:
        report = verify_chain(progress(_read_export(export_file), None, "verifying"))
    else:
        client = open_client()
        report = client.store.verify()
    if as_json:
        emit_json(report.to_dict())
    elif report.ok:
        extra = f", {report.redacted} redacted payload(s)" if report.redacted else ""
        click.echo(f"OK: {report.count} events, chain intact{extra}; head {report.head_seq} {report.head_hash}")
    else:
        click.echo(f"FAILED at event {report.first_bad_seq}"
                   + (f" (id {report.first_bad_id})" if report.first_bad_id else "")
                   + f": {report.problem}", err=True)
        click.echo(f"{report.count} events before it verified", err=True)
    sys.exit(0 if report.ok else 1)


def _read_export(path: Path) -> Any:
    from ..events import StoredEvent
    from ..ledger import canonical_json

    with path.open() as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                event = StoredEvent(row["seq"], row["id"], row["type"], row["v"], row["ts"], row.get("actor"),
                                    None, row["payload_sha256"], row["prev_hash"], row["hash"])
            except (ValueError, KeyError, TypeError) as exc:
                from ..errors import ValidationError

                raise ValidationError(f"{path}:{number}", f"not an exported ledger event ({exc})") from None
            payload = row.get("payload")
            # JCS is deterministic, so re-canonicalising the exported object gives back the hashed bytes.
            yield event, None if payload is None else canonical_json(payload).decode("utf-8")


@click.command("rebuild")
@JSON_OPTION
def rebuild_command(as_json: bool) -> None:
    """Drop every projection table and replay the ledger into it (in one transaction)."""
    client = open_client()
    started = time.perf_counter()
    count = client.rebuild()
    seconds = time.perf_counter() - started
    if as_json:
        emit_json({"replayed": count, "seconds": round(seconds, 3)})
    else:
        click.echo(f"Rebuilt projections from {count} events in {seconds:.2f}s")


@click.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (default: standard output).")
def export_command(output: Path | None) -> None:
    """Export the whole ledger as JSON Lines: every event with its payload and chain hashes.

    The export verifies offline with `mlineage verify --file FILE`.
    """
    client = open_client()
    head_seq, _ = client.store.head()
    handle = output.open("w") if output else sys.stdout
    try:
        for event in progress(client.store.iter_events(), head_seq, "exporting"):
            row = {
                "seq": event.seq, "id": event.id, "type": event.type, "v": event.v, "ts": event.ts,
                "actor": event.actor, "payload_sha256": event.payload_sha256, "prev_hash": event.prev_hash,
                "hash": event.hash, "payload": event.payload,
            }
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if output:
            handle.close()
    if output:
        click.echo(f"Exported {head_seq} events to {output}", err=True)


COMMANDS = [verify_command, rebuild_command, export_command]
