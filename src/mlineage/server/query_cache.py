"""Serialized query answers, kept per (namespace, ledger head, query): the ledger is append-only, so while its
head stays put a query's answer cannot change — a team re-asking the same trace is served stored bytes.

Concurrent identical misses are computed once (the others wait for it). A large answer is also kept gzipped
(compressed once, sent to every client that accepts gzip: a lineage answer is mostly repeated keys, so it
shrinks several-fold). Entries are evicted least recently used beyond a byte budget per server process
(``MLINEAGE_SERVER_QUERY_CACHE=<MiB>``; default 256). ``MLINEAGE_SERVER_QUERY_CACHE=0`` turns the cache off
(every request computes and serializes its answer), which is also what the server benchmark compares against.
"""

from __future__ import annotations

import os
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

ENV = "MLINEAGE_SERVER_QUERY_CACHE"
DEFAULT_BUDGET = 256 * 1024 * 1024
GZIP_MIN_BYTES = 1400  # below about one packet compression buys nothing


@dataclass(frozen=True, slots=True)
class Answer:
    body: bytes
    gzipped: bytes | None = None  # the same body gzipped, for a large answer

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped or b"")


def gzip_bytes(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


class QueryCache:
    def __init__(self, enabled: bool | None = None, budget: int | None = None) -> None:
        setting = os.environ.get(ENV, "1").strip()
        self.enabled = setting != "0" if enabled is None else enabled
        if budget is None:  # MLINEAGE_SERVER_QUERY_CACHE=<MiB> sets the budget ("1" or unset: the default)
            budget = int(setting) * 1024 * 1024 if setting.isdigit() and int(setting) > 1 else DEFAULT_BUDGET
        self.budget = budget
        self._entries: OrderedDict[Hashable, Answer] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self._inflight: dict[Hashable, threading.Event] = {}
        self.hits = 0
        self.misses = 0

    def peek(self, key: Hashable) -> Answer | None:
        """The answer stored under ``key``, if any (nothing is computed)."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
            return found

    def get(self, key: Hashable, compute: Callable[[], tuple[bytes, bool]]) -> Answer:
        """The answer stored under ``key``, or the one ``compute()`` returns as (bytes, cacheable), stored
        when cacheable and within a quarter of the budget. Exceptions propagate and store nothing."""
        if not self.enabled:
            return Answer(compute()[0])
        while True:
            with self._lock:
                found = self._entries.get(key)
                if found is not None:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return found
                waiting = self._inflight.get(key)
                if waiting is None:
                    done = self._inflight[key] = threading.Event()
                    self.misses += 1
                    break
            waiting.wait()  # the same query is being answered: take its result (or compute if it failed)
        try:
            body, cacheable = compute()
            value = Answer(body, gzip_bytes(body) if len(body) >= GZIP_MIN_BYTES else None)
            if cacheable and value.size <= self.budget // 4:
                self._store(key, value)
            return value
        finally:
            with self._lock:
                self._inflight.pop(key, None)
            done.set()

    def _store(self, key: Hashable, value: Answer) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= old.size
            self._entries[key] = value
            self._size += value.size
            while self._size > self.budget and self._entries:
                _k, evicted = self._entries.popitem(last=False)
                self._size -= evicted.size
