"""One daemon thread per process that writes what open runs have buffered once it is due.

A run's start is buffered so that a short run costs one write transaction instead of two, but a run that is
still going after ``start_write_delay()`` seconds must show up in the store as running (and a hard kill must
not lose it): this thread makes sure of that, without the user's code having to call anything. Deadlines
live in a heap; runs are held weakly, so an abandoned run object is not kept alive by its deadline.
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
import weakref
from typing import Protocol

DEFAULT_START_WRITE_DELAY = 1.0
IDLE_EXIT_SECONDS = 5.0


def start_write_delay() -> float:
    """Seconds a run's start may stay buffered (``MLINEAGE_START_WRITE_DELAY``; 0 writes it at once)."""
    raw = os.environ.get("MLINEAGE_START_WRITE_DELAY")
    if raw is None:
        return DEFAULT_START_WRITE_DELAY
    try:
        return max(0.0, float(raw))
    except ValueError:
        return DEFAULT_START_WRITE_DELAY


class Flushable(Protocol):
    def flush_due(self) -> None: ...


class _Flusher:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, weakref.ref[Flushable]]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def schedule(self, item: Flushable, delay: float) -> None:
        with self._cond:
            entry = (time.monotonic() + delay, next(self._order), weakref.ref(item))
            heapq.heappush(self._heap, entry)
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()  # a forked child has the heap but not the thread: start its own
                self._thread = threading.Thread(target=self._loop, name="mlineage-flusher", daemon=True)
                self._thread.start()
            elif self._heap[0] is entry:
                # Wake the thread only when it must wait less than it does: waking it costs the caller a GIL
                # hand-off, and an earlier deadline is already being waited for.
                self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                if not self._heap:
                    self._cond.wait(IDLE_EXIT_SECONDS)
                    if not self._heap:  # idle: leave, so a process that forks later has no stray thread
                        self._thread = None
                        return
                    continue
                due_at = self._heap[0][0]
                now = time.monotonic()
                if due_at > now:
                    self._cond.wait(due_at - now)
                    continue
                _, _, ref = heapq.heappop(self._heap)
            item = ref()
            if item is not None:
                try:
                    item.flush_due()
                except Exception:  # noqa: BLE001, S110 - the run's own thread retries the write and reports the error
                    pass


_flusher = _Flusher()


def schedule(item: Flushable, delay: float) -> None:
    _flusher.schedule(item, delay)
