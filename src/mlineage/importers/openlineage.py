"""OpenLineage event logs into the ledger: what the file transport and Marquez's exports write (JSON lines,
one event per file, or a JSON list), through the same validation and mapping as the server's ingestion
endpoint (``interop.openlineage.validate_event`` and ``to_core_events`` with the store's graph state).

Each event is one unit, keyed by its canonical digest (``interop.openlineage.event_id``), as the server's
inbox keys it; a known event is skipped before it is mapped (the mapping depends on the graph at the time,
so mapping it again could name other versions).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import jsondepth
from ..errors import ValidationError
from ..interop import openlineage as ol
from .sink import ImportReport, Progress, Sink, known_units

if TYPE_CHECKING:
    from ..sdk.client import Client

SOURCE = "openlineage"
_SUFFIXES = (".json", ".jsonl", ".ndjson")


def files_of(paths: Sequence[Path]) -> list[Path]:
    """The files to read: each file given, and the ``*.json``/``*.jsonl``/``*.ndjson`` files under each
    folder given (sorted by path: the file transport names files by time)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in _SUFFIXES))
        elif path.is_file():
            out.append(path)
        else:
            raise ValidationError(str(path), "does not exist")
    return out


def documents(path: Path) -> Iterator[tuple[str, Any]]:
    """(``file:line`` or ``file[item]``, JSON value) for each event of a file, read line by line so a large
    log streams. A line that is not JSON (a truncated write) is an error naming the file and line, and so
    is a file that is not UTF-8 text."""
    try:
        yield from _documents(path)
    except UnicodeDecodeError:
        raise ValidationError(str(path), "is not UTF-8 text, so not OpenLineage events",
                              "import JSON event files (one event per line, or one JSON document per file)"
                              ) from None


def _documents(path: Path) -> Iterator[tuple[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        first = handle.read(1)
        while first and first.isspace():
            first = handle.read(1)
        handle.seek(0)
        if first == "[" or (first == "{" and not _is_json_lines(path)):
            try:
                whole = json.load(handle)
            except ValueError as exc:
                raise ValidationError(
                    f"{path}:{getattr(exc, 'lineno', 1)}", f"is not valid JSON ({exc})",
                    "write one JSON event per line, or one JSON document per file") from None
            if isinstance(whole, list):
                for i, item in enumerate(whole):
                    yield f"{path}[{i}]", item
            else:
                yield str(path), whole
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield f"{path}:{number}", json.loads(line)
            except ValueError as exc:
                raise ValidationError(f"{path}:{number}", f"is not a complete JSON event ({exc})",
                                      "a truncated last line is left by an interrupted writer: remove it, "
                                      "or import again once the writer has finished") from None


def _is_json_lines(path: Path) -> bool:
    """Whether a file starting with '{' holds several lines of JSON objects (rather than one document
    spread over lines): its first line parses by itself."""
    with open(path, encoding="utf-8") as handle:
        line = handle.readline()
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def import_openlineage(client: Client, paths: Sequence[Path], *, progress: Progress | None = None,
                       force: bool = False) -> ImportReport:
    """Import OpenLineage events from files and folders, in file order and, within a file, line order."""
    report = ImportReport(SOURCE)
    sink = Sink(client, report, progress)
    known = {} if force else known_units(client, SOURCE)
    state = ol.StoreGraphState(client.store)
    for path in files_of(paths):
        for where, raw in documents(path):
            report.units += 1
            dropped: list[str] = []
            try:
                jsondepth.check_depth(raw, "event")  # as the server's endpoint refuses it
                doc = ol.validate_event(raw, dropped_facets=dropped)
            except ValidationError as exc:
                raise ValidationError(f"{where} {exc.field}", exc.problem, exc.fix) from None
            report.warnings += [f"{where}: left out the facet {d}" for d in dropped]
            key = ol.event_id(doc)
            if key in known:
                sink.skip()
                continue
            # the mapping reads the graph (does the run exist, which version is the latest), so what is
            # pending must be in the ledger first: one event, one append
            sink.flush()
            events = ol.to_core_events(doc, state, f"import:{key}")
            sink.unit(events, key, key, where)
            known[key] = key
    sink.flush()
    return report
