"""The export format: the ledger as JSON Lines, one event per line, ending with the head it was taken at.

Anyone can verify an export without the store: canonical JSON is deterministic, so re-canonicalising each
exported payload gives back the exact bytes that were hashed. The chain alone cannot show that lines were cut
from the end (what remains is a shorter, valid chain), so the last line is a checkpoint of the ledger head,
``{"checkpoint": {"seq": ..., "hash": ..., "time": ..., "events": ...}}``: an export without it, or whose
events end elsewhere, does not verify.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from .errors import ValidationError
from .events import StoredEvent, utc_now
from .ledger import GENESIS_HASH, VerifyReport, canonical_json, verify_chain

_FIELDS = ("seq", "id", "type", "v", "ts", "actor", "payload_sha256", "prev_hash", "hash")


def write_export(events: Iterable[StoredEvent], handle: IO[str]) -> int:
    """Write every event, then the checkpoint line of the last one; returns how many events were written."""
    count, head_seq, head_hash = 0, 0, GENESIS_HASH
    for event in events:
        row = {"seq": event.seq, "id": event.id, "type": event.type, "v": event.v, "ts": event.ts,
               "actor": event.actor, "payload_sha256": event.payload_sha256, "prev_hash": event.prev_hash,
               "hash": event.hash, "payload": event.payload}
        handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        count, head_seq, head_hash = count + 1, event.seq, event.hash
    trailer = {"seq": head_seq, "hash": head_hash, "time": utc_now(), "events": count}
    handle.write(json.dumps({"checkpoint": trailer}) + "\n")
    return count


@dataclasses.dataclass
class _Trailer:
    value: dict[str, Any] | None = None
    line: int = 0
    after: int | None = None  # the first line that follows it


def _no_nan(token: str) -> float:
    raise ValueError(f"{token} is not a JSON number (the export was edited: mlineage never writes it)")


def _events(path: Path, trailer: _Trailer) -> Iterator[tuple[StoredEvent, str | None]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line, parse_constant=_no_nan)
            except ValueError as exc:
                raise ValidationError(where, f"not a JSON line ({exc})", "restore the export from its source")
            if trailer.value is not None:
                trailer.after = trailer.after or number
                continue
            if isinstance(row, dict) and set(row) == {"checkpoint"}:
                trailer.value, trailer.line = row["checkpoint"], number
                continue
            yield _event(row, where)


def _event(row: Any, where: str) -> tuple[StoredEvent, str | None]:
    if not isinstance(row, dict):
        raise ValidationError(where, "not an exported ledger event (a JSON object is expected)")
    missing = [f for f in _FIELDS if f not in row]
    if missing:
        raise ValidationError(where, f"not an exported ledger event (no {', '.join(missing)})")
    for field, kind in (
        ("seq", int),
        ("v", int),
        ("id", str),
        ("type", str),
        ("ts", str),
        ("payload_sha256", str),
        ("prev_hash", str),
        ("hash", str),
    ):
        value = row[field]
        if type(value) is not kind:
            raise ValidationError(
                where,
                f"{field} is {json.dumps(value)}, not {'an integer' if kind is int else 'a string'}"
                " (the export was edited: mlineage writes it as one)",
            )
    event = StoredEvent(row["seq"], row["id"], row["type"], row["v"], row["ts"], row["actor"], None,
                        row["payload_sha256"], row["prev_hash"], row["hash"])
    payload = row.get("payload")
    # JCS is deterministic, so re-canonicalising the exported object gives back the hashed bytes.
    return event, None if payload is None else canonical_json(payload).decode("utf-8")


def verify_export(path: Path, progress: Any = None) -> VerifyReport:
    """Verify an export's chain, then that it ends where its checkpoint line says the ledger did."""
    trailer = _Trailer()
    events: Iterable[tuple[StoredEvent, str | None]] = _events(path, trailer)
    report = verify_chain(progress(events) if progress else events)
    if not report.ok:
        return report
    head = trailer.value
    problem = None
    if head is None:
        problem = (
            f"the export has no checkpoint line after its last event (seq {report.head_seq}): it was cut "
            "short, or written before exports carried their head; events after it may be missing"
        )
    elif not (isinstance(head, dict) and type(head.get("seq")) is int and isinstance(head.get("hash"), str)):
        problem = f"line {trailer.line}: the checkpoint line is malformed (want seq and hash)"
    elif trailer.after is not None:
        problem = (
            f"line {trailer.after} follows the checkpoint line, which must be the last: the export was edited"
        )
    elif head["seq"] != report.head_seq:
        what = "were removed" if head["seq"] > report.head_seq else "were added"
        problem = (
            f"the export's checkpoint says the ledger ended at seq {head['seq']}, but its events end at seq "
            f"{report.head_seq}: event lines {what}"
        )
    elif head["hash"] != report.head_hash:
        problem = (
            f"the export's checkpoint records hash {head['hash']} for seq {head['seq']}, but that event's "
            f"hash is {report.head_hash}: the last event or the checkpoint line was altered"
        )
    if problem is None:
        return dataclasses.replace(report, checkpoint=head)
    return dataclasses.replace(report, ok=False, first_bad_seq=report.head_seq + 1, problem=problem,
                               checkpoint=head if isinstance(head, dict) else None)


__all__ = ["verify_export", "write_export"]
