"""Where every importer's events go: batched through ``Client.append`` (the one pipeline), one unit at a time.

A unit's events and its ``SourceImported`` marker are appended together, so a unit is in the ledger whole or
not at all; units whose marker (with the same fingerprint) is already there are skipped before they are
read, which makes an interrupted import resumable and a repeated one cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..events import NewEvent
from .ids import event_id
from .records import SOURCE_IMPORTED

if TYPE_CHECKING:
    from ..sdk.client import Client

Progress = Callable[[int], None]
BATCH_EVENTS = 2000


@dataclass
class ImportReport:
    """What one import did: units seen, imported now, skipped as already imported, events appended."""

    source: str
    units: int = 0
    imported: int = 0
    skipped: int = 0
    events: int = 0
    appended: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "units": self.units, "imported": self.imported,
                "skipped": self.skipped, "events": self.events, "appended": self.appended,
                "warnings": list(self.warnings)}


def known_units(client: Client, source: str, keys: Sequence[str] | None = None) -> dict[str, str]:
    """Unit key -> fingerprint of what ``source`` already imported (all keys, or those in ``keys``). A store
    without SQL access (a remote one) answers nothing: every unit is mapped again and the ledger's id check
    drops the repeats."""
    engine = getattr(client.store, "engine", None)
    if engine is None:
        return {}
    from sqlalchemy import text

    out: dict[str, str] = {}
    with engine.connect() as conn:
        if keys is None:
            rows = conn.execute(text("SELECT key, fingerprint FROM imported_sources WHERE source = :s"),
                                {"s": source})
            return {str(k): str(f) for k, f in rows}
        wanted = list(keys)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ", ".join(f":k{i}" for i in range(len(chunk)))
            params: dict[str, Any] = {"s": source, **{f"k{i}": k for i, k in enumerate(chunk)}}
            rows = conn.execute(text(f"SELECT key, fingerprint FROM imported_sources WHERE source = :s "
                                     f"AND key IN ({marks})"), params)
            out.update({str(k): str(f) for k, f in rows})
    return out


def marker(source: str, key: str, fingerprint: str, origin: str | None = None) -> NewEvent:
    payload: dict[str, Any] = {"source": source, "key": key, "fingerprint": fingerprint}
    if origin:
        payload["origin"] = origin
    return NewEvent(SOURCE_IMPORTED, payload, id=event_id(source, "unit", key, fingerprint))


class Sink:
    """Collects units' events and appends them in batches of about ``BATCH_EVENTS`` (a unit is never
    split)."""

    def __init__(self, client: Client, report: ImportReport, progress: Progress | None = None) -> None:
        self.client = client
        self.report = report
        self.progress = progress
        self._pending: list[NewEvent] = []
        self._pending_ids: set[str] = set()
        self._units = 0

    def unit(self, events: Iterable[NewEvent], key: str, fingerprint: str, origin: str | None = None) -> None:
        batch = list(events)
        batch.append(marker(self.report.source, key, fingerprint, origin))
        self.report.imported += 1
        self.report.events += len(batch)
        for event in batch:  # two units of one batch may map to the same event (an unchanged artifact)
            if event.id not in self._pending_ids:
                self._pending_ids.add(event.id)
                self._pending.append(event)
        self._units += 1
        if len(self._pending) >= BATCH_EVENTS:
            self.flush()

    def skip(self) -> None:
        self.report.skipped += 1
        if self.progress:
            self.progress(1)

    def flush(self) -> None:
        if self._pending:
            stored = self.client.append(self._pending)
            self.report.appended += len(stored)
            self._pending = []
            self._pending_ids = set()
        if self.progress and self._units:
            self.progress(self._units)
        self._units = 0
