"""The durable spool of a remote store: events not yet acknowledged by the server, safe across crashes.

Layout (one folder per server URL): ``events.jsonl`` (append-only, one event per line; the events of one
append that holds several carry its group ``g``, so the server can take or refuse them together, as a local
store does), ``offset`` (bytes of
events.jsonl already acknowledged, replaced atomically), ``rejected.jsonl`` (events the server refused with a
4xx, with its error: kept, never silently dropped) and ``lock`` files. Once everything is shipped the spool is
compacted: the offset is reset to 0 *before* the file is truncated, so a crash in between only re-ships
acknowledged events, which the server ignores (every event carries its id).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ...events import NewEvent

COMPACT_BYTES = 1 << 20
BATCH_BYTES = 512 * 1024
"""A shipped batch stops at about this many bytes of events (besides ``limit`` events), so a backlog of large
events (a batch of serving traces is one event) goes in requests well under the server's body limit."""


GROUP = "g"  # the spool line's group key: the first event id of a multi-event append (not sent to the server)


def event_line(e: NewEvent, group: str | None = None) -> bytes:
    line: dict[str, Any] = {"id": e.id, "type": e.type, "payload": e.payload, "ts": e.ts, "actor": e.actor,
                            "v": e.v}
    if group is not None:
        line[GROUP] = group
    return (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def groups(batch: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Spool lines split into the appends that wrote them (consecutive lines of one group; a line without a
    group stands alone)."""
    out: list[list[dict[str, Any]]] = []
    for item in batch:
        group = item.get(GROUP)
        if group is not None and out and out[-1][0].get(GROUP) == group:
            out[-1].append(item)
        else:
            out.append([item])
    return out


def wire(item: dict[str, Any]) -> dict[str, Any]:
    """The event as the server takes it (the spool's group key left out)."""
    if GROUP not in item:
        return item
    return {k: v for k, v in item.items() if k != GROUP}


def default_spool_dir(url: str) -> Path:
    configured = os.environ.get("MLINEAGE_SPOOL")
    base = (
        Path(configured)
        if configured
        else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mlineage" / "spool"
    )
    return base / hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:16]


@contextlib.contextmanager
def flock(path: Path, blocking: bool = True) -> Iterator[bool]:
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Spool:
    """An append-only, fsynced file of events not yet acknowledged by the server (multi-process safe)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "events.jsonl"
        self.offset_path = folder / "offset"
        self.rejected_path = folder / "rejected.jsonl"
        self.path.touch(exist_ok=True)

    def write(self, events: Sequence[NewEvent]) -> None:
        group = events[0].id if len(events) > 1 else None
        data = b"".join(event_line(e, group) for e in events)
        with flock(self.folder / "append.lock"):
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)

    def offset(self) -> int:
        try:
            value = int(self.offset_path.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0
        return value if value <= self.path.stat().st_size else 0

    def _set_offset(self, value: int) -> None:
        temp = self.offset_path.with_suffix(".tmp")
        with open(temp, "w") as handle:
            handle.write(str(value))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.offset_path)

    def pending_bytes(self) -> int:
        return self.path.stat().st_size - self.offset()

    def pending(self) -> int:
        with open(self.path, "rb") as handle:
            handle.seek(self.offset())
            return sum(1 for line in handle if line.endswith(b"\n"))

    def read_batch(self, start: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Up to ``limit`` complete lines (and about ``BATCH_BYTES``) from byte ``start`` (more when the last
        append's group goes on: a group is never split); returns them and the offset after them."""
        out: list[dict[str, Any]] = []
        end = start
        with open(self.path, "rb") as handle:
            handle.seek(start)
            for line in handle:
                if not line.endswith(b"\n"):
                    break  # a write still in progress (or torn by a crash): not shipped yet
                try:
                    item = json.loads(line)
                except json.JSONDecodeError:
                    item = None
                if (len(out) >= limit or (out and end - start >= BATCH_BYTES)) and (
                        item is None or item.get(GROUP) is None or item.get(GROUP) != out[-1].get(GROUP)):
                    break
                end += len(line)
                if item is None:
                    self.reject({"line": line.decode("utf-8", "replace")}, "unreadable spool line")
                else:
                    out.append(item)
        return out, end

    def reject(self, event: dict[str, Any], error: str) -> None:
        with open(self.rejected_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"event": event, "error": error}, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def acknowledge(self, offset: int) -> None:
        self._set_offset(offset)
        if offset >= COMPACT_BYTES:
            with flock(self.folder / "append.lock"):
                if self.path.stat().st_size == offset:
                    self._set_offset(0)
                    os.truncate(self.path, 0)

    def first_rejection(self) -> str | None:
        """The first refused event kept in ``rejected.jsonl`` and why: ``event TYPE ID: HTTP 409: CycleError:
        ...`` (what ``mlineage sync`` quotes)."""
        try:
            with open(self.rejected_path, encoding="utf-8") as handle:
                for line in handle:
                    if line.strip():
                        kept = json.loads(line)
                        event = kept.get("event") or {}
                        return f"event {event.get('type')} {event.get('id')}: {kept.get('error')}"
        except (FileNotFoundError, ValueError):
            return None
        return None

    def rejected(self) -> int:
        """How many events the server has refused so far (kept in ``rejected.jsonl``)."""
        try:
            with open(self.rejected_path, "rb") as handle:
                return sum(1 for line in handle if line.strip())
        except FileNotFoundError:
            return 0
