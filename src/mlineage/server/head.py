"""The ledger head as the server's cache sees it, without a database round trip on every request.

A cached answer is valid while the ledger head stays put, so every request used to ask the database for the
head: one round trip that, on a busy machine, waits for the database process to be scheduled and holds the
request (and, on the fast path, the event loop) meanwhile. Almost every write to a server's database comes
through the server itself, so its processes tell each other instead: after each append (HTTP, the
ingestion worker, an admin action) the writing process changes a shared signal, a few bytes in a file every
server process maps (``MLINEAGE_SERVER_HEAD_FILE``, made by ``mlineage server``; a single process keeps it in
memory). A reader asks the database again when the signal changed since it last asked, and otherwise at
most every ``MLINEAGE_SERVER_HEAD_RECHECK_MS`` milliseconds (default 250), which bounds how long a write made
straight into the database (a local CLI, another server machine) can go unseen. 0 asks on every request.

The signal is read before the database, so a write that committed after the database was asked has
changed the signal by the time its client gets an answer: a client that appended through any process of
this server always sees its write on its next query.
"""

from __future__ import annotations

import mmap
import os
import threading
import time
from collections.abc import Callable

FILE_ENV = "MLINEAGE_SERVER_HEAD_FILE"
RECHECK_ENV = "MLINEAGE_SERVER_HEAD_RECHECK_MS"
DEFAULT_RECHECK_MS = 250
_SIZE = 16


def recheck_seconds() -> float:
    value = os.environ.get(RECHECK_ENV, "").strip()
    return (int(value) if value.isdigit() else DEFAULT_RECHECK_MS) / 1000


class HeadSignal:
    """Bytes that change whenever a server process appended: shared through a mapped file, or in memory."""

    def __init__(self, path: str | None = None) -> None:
        self._memory = bytearray(_SIZE)
        self._map: mmap.mmap | None = None
        if path:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if os.fstat(fd).st_size < _SIZE:
                    os.ftruncate(fd, _SIZE)
                self._map = mmap.mmap(fd, _SIZE)
            finally:
                os.close(fd)
        self._tag = os.urandom(4)  # this process's: no two processes write the same value
        self._count = 0
        self._lock = threading.Lock()

    def read(self) -> bytes:
        return bytes(self._map[:_SIZE]) if self._map is not None else bytes(self._memory)

    def bump(self) -> None:
        """Say that this process appended (a value no other process writes: its tag and a counter)."""
        with self._lock:
            self._count += 1
            value = self._tag + self._count.to_bytes(_SIZE - 4, "little")
            if self._map is not None:
                self._map[:_SIZE] = value
            else:
                self._memory[:] = value


class LedgerHead:
    """The head seq for the query cache's keys: the database's answer, asked again only when a server process
    appended since, or when the last answer is older than the recheck interval."""

    def __init__(self, ask: Callable[[], int], signal: HeadSignal, recheck_s: float | None = None) -> None:
        self._ask = ask
        self.signal = signal
        self.recheck_s = recheck_seconds() if recheck_s is None else recheck_s
        self._known: tuple[bytes, float, int] | None = None  # (signal, when asked, head)

    def current(self) -> int:
        signal = self.signal.read()  # before the database: see the module's docstring
        now = time.monotonic()
        known = self._known
        if known is not None and known[0] == signal and now - known[1] < self.recheck_s:
            return known[2]
        head = self._ask()
        self._known = (signal, now, head)
        return head

    def moved(self) -> None:
        """Call after this process appended (the write has committed)."""
        self._known = None
        self.signal.bump()
