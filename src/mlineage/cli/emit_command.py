"""``mlineage emit``: record domain events (or OpenLineage RunEvents) read as JSON, for producers that can run
a command but not link the SDK."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from .context import client_session
from .options import JSON_OPTION
from .output import emit_json


@click.command("emit")
@click.argument("source", default="-", type=click.Path(allow_dash=True, dir_okay=False, path_type=Path))
@JSON_OPTION
def emit_command(source: Path, as_json: bool) -> None:
    """Record events read from SOURCE (a file, or - for stdin): one JSON object, a JSON list, or JSON lines.

    Each object is a domain event, {"event": "TrainingStarted", "run_id": "r42", ...} with the fields
    `mlineage.emit` takes, or an OpenLineage RunEvent. Events are recorded in order; the first one refused
    stops the command with its error (those before it are recorded: emit again with the same event_id to
    retry).
    """
    from ..sdk.emit import to_events

    documents = list(_documents(source))
    written = []
    with client_session() as client:
        for number, doc in documents:
            batch = to_events(*_split(doc, number), client)
            if batch:
                written.append(client.append(batch))
    count = sum(len(w) for w in written)
    if as_json:
        emit_json({"emitted": len(documents), "ledger_events": count,
                   "last_seq": written[-1][-1].seq if written and written[-1] else None})
    else:
        click.echo(f"emitted {len(documents)} event(s) as {count} ledger event(s)")


def _documents(source: Path) -> Iterator[tuple[int, Any]]:
    """(line or item number, JSON value) for each event in the source."""
    from ..errors import ValidationError

    where = "stdin" if str(source) == "-" else str(source)
    try:
        text = sys.stdin.read() if str(source) == "-" else source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(where, f"cannot be read ({exc})") from None
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    if isinstance(whole, list):
        yield from enumerate(whole, start=1)
        return
    if whole is not None:
        yield 1, whole
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except ValueError as exc:
            raise ValidationError(f"{where} line {number}", f"is not JSON ({exc})",
                                  "write one JSON object per line, or one JSON document") from None


def _split(document: Any, number: int) -> tuple[Any, dict[str, Any]]:
    """(event name or OpenLineage dict, fields) for ``to_events``."""
    from ..errors import ValidationError

    if not isinstance(document, dict):
        raise ValidationError(f"event {number}", f"is {json.dumps(document)[:40]}, not a JSON object",
                              'write {"event": "TrainingStarted", "run_id": ...} or an OpenLineage RunEvent')
    if "event" in document:
        fields = dict(document)
        name = fields.pop("event")
        if not isinstance(name, str):
            raise ValidationError(f"event {number}", f"its \"event\" is {name!r}, not an event name")
        return name, fields
    if "eventType" in document or "run" in document:
        return document, {}
    raise ValidationError(f"event {number}", 'has no "event" name and is not an OpenLineage RunEvent',
                          'add "event": "TrainingStarted" (or another event name)')


COMMANDS = [emit_command]
