"""``mlineage.trace_request``: record which model version answered a request, from a serving hot path.

The caller's thread only samples and appends a tuple to a bounded in-memory queue; it never waits on the
store or the network and never raises. A daemon thread wakes every ``interval`` seconds (or once a batch is
full), turns the queued calls into checked traces, resolves their refs (cached: ``resolve.py``) and appends
them through the Client as ``ServingTraces`` events. So:

* a full queue drops the new trace and counts it; the count rides on the next batch (``serving_losses``)
  and is reported on stderr at exit;
* with a team server (``MLINEAGE_URI=http(s)://...``) the Client's store spools every batch to disk before
  shipping it: a server that is down loses nothing, and the spool ships when it is back;
* a batch the store refuses (a bad trace) is counted as rejected and reported, never raised to the caller;
  a store that cannot be reached (a local database locked or gone) keeps the batch and tries again;
* at interpreter exit the queue is drained and written (``MLINEAGE_TRACE_EXIT_TIMEOUT`` seconds at most).

Configuration: ``configure(sample_rate=..., queue_size=..., batch_size=..., interval=...)`` or the
environment (``MLINEAGE_TRACE_SAMPLE``, ``MLINEAGE_TRACE_QUEUE``, ``MLINEAGE_TRACE_BATCH``,
``MLINEAGE_TRACE_INTERVAL``).
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import random
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..events import new_id, utc_from_ns

if TYPE_CHECKING:
    from ..sdk.client import Client

log = logging.getLogger("mlineage.serving")

DEFAULTS = {
    "sample_rate": 1.0,
    "queue_size": 100_000,
    "batch_size": 1000,
    "interval": 0.5,
    "exit_timeout": 10.0,
}
_ENV = {
    "sample_rate": "MLINEAGE_TRACE_SAMPLE",
    "queue_size": "MLINEAGE_TRACE_QUEUE",
    "batch_size": "MLINEAGE_TRACE_BATCH",
    "interval": "MLINEAGE_TRACE_INTERVAL",
    "exit_timeout": "MLINEAGE_TRACE_EXIT_TIMEOUT",
}
_MAX_RETAINED_BATCHES = 8


def _setting(name: str, given: float | None) -> float:
    if given is not None:
        return float(given)
    raw = os.environ.get(_ENV[name])
    try:
        return float(raw) if raw else DEFAULTS[name]
    except ValueError:
        return DEFAULTS[name]


class TraceRecorder:
    """A queue and one writer thread (see the module docstring). ``client``: the Client to write through
    (default: a Client of the current project, opened by the writer thread)."""

    def __init__(
        self,
        client: Client | None = None,
        *,
        sample_rate: float | None = None,
        queue_size: int | None = None,
        batch_size: int | None = None,
        interval: float | None = None,
        exit_timeout: float | None = None,
    ) -> None:
        self.sample_rate = min(1.0, max(0.0, _setting("sample_rate", sample_rate)))
        self.queue_size = max(1, int(_setting("queue_size", queue_size)))
        self.batch_size = max(1, int(_setting("batch_size", batch_size)))
        self.interval = max(0.001, _setting("interval", interval))
        self.exit_timeout = _setting("exit_timeout", exit_timeout)
        self._client = client
        self._own_client = client is None
        self._queue: collections.deque[tuple[Any, ...]] = collections.deque()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._retry: list[tuple[list[dict[str, Any]], list[int]]] = []
        self.dropped = 0  # queue full (caller's thread, under the lock)
        self.sampled_out = 0
        self.errors = 0  # the caller's arguments could not even be queued
        self.recorded = 0  # written (writer thread only)
        self.rejected = 0  # refused as invalid, by the checks or the store
        self.failed = 0  # given up after the store stayed unreachable with the retry buffer full
        self._reported = [0, 0]  # dropped, sampled out: already written with a batch
        self._writing = False
        self._last_error: str | None = None
        atexit.register(self.close)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork)

    # ------------------------------------------------------------ the caller's thread

    def trace(
        self,
        endpoint: str | None = None,
        model: str | None = None,
        index: str | None = None,
        prompt: str | None = None,
        inputs_digest: str | None = None,
        *,
        trace_id: str | None = None,
        retrieved: Sequence[Any] | None = None,
        attributes: Mapping[str, Any] | None = None,
        **facts: Any,
    ) -> str | None:
        """Queue one trace; returns its id (None when sampled out or dropped). Never raises, never blocks."""
        try:
            if self.sample_rate < 1.0 and random.random() >= self.sample_rate:
                with self._lock:
                    self.sampled_out += 1
                return None
            queue = self._queue
            if len(queue) >= self.queue_size or self._closed:
                with self._lock:
                    self.dropped += 1
                return None
            tid = trace_id or new_id()
            queue.append(
                (
                    time.time_ns(),
                    tid,
                    endpoint,
                    model,
                    index,
                    prompt,
                    inputs_digest,
                    retrieved,
                    attributes,
                    facts,
                )
            )
            if self._thread is None:
                self._start()
            elif len(queue) == self.batch_size:
                self._wake.set()
            return tid
        except Exception:  # noqa: BLE001 - a trace must never break the request it describes
            self.errors += 1
            return None

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="mlineage-traces", daemon=True)
                self._thread.start()

    # ------------------------------------------------------------ the writer thread

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            self._writing = True
            try:
                self._write_all()
            except Exception as exc:  # noqa: BLE001 - the thread must outlive any one bad batch
                self._note(exc)
            finally:
                self._writing = False
            if self._closed and not self._queue:
                return

    def client(self) -> Client:
        if self._client is None:
            from ..sdk.client import Client

            self._client = Client()
        return self._client

    def _write_all(self) -> None:
        """Write what is queued (and what an earlier failure kept), a batch at a time."""
        from .resolve import Resolver

        resolver = getattr(self, "_resolver", None)
        if resolver is None:
            resolver = self._resolver = Resolver(self.client())
        while self._retry:
            if not self._append(*self._retry[0]):
                return  # still unreachable: the queue waits, and fills up (and drops) if it must
            self._retry.pop(0)
        while self._queue:
            traces, sizes = self._take(resolver)
            if traces and not self._append(traces, sizes):
                if len(self._retry) >= _MAX_RETAINED_BATCHES:
                    self.failed += len(self._retry.pop(0)[0])
                self._retry.append((traces, sizes))
                return

    def _take(self, resolver: Any) -> tuple[list[dict[str, Any]], list[int]]:
        from .service import normalise_sized

        queue, out, sizes = self._queue, [], []
        for _ in range(min(self.batch_size, len(queue))):
            ns, tid, endpoint, model, index, prompt, inputs, retrieved, attributes, facts = queue.popleft()
            raw = dict(facts)
            raw.update(
                trace_id=tid,
                ts=utc_from_ns(ns),
                endpoint=endpoint,
                model=model,
                index=index,
                prompt=prompt,
                inputs_digest=inputs,
                retrieved=retrieved,
                attributes=attributes,
            )
            try:
                trace, size = normalise_sized(raw)
                out.append(resolver.fill(trace))
                sizes.append(size)
            except Exception as exc:  # noqa: BLE001 - a bad trace is counted, never raised
                self.rejected += 1
                self._note(exc)
        return out, sizes

    def _append(self, traces: list[dict[str, Any]], sizes: list[int]) -> bool:
        """Append one batch: True when it is written (or refused for good), False to try again later."""
        from ..errors import MlineageError, StoreUnavailableError
        from .service import sealable, to_events

        with self._lock:
            dropped, sampled = self.dropped - self._reported[0], self.sampled_out - self._reported[1]
        rate = self.sample_rate if self.sample_rate < 1 else None
        try:
            events = to_events(traces, dropped=dropped, sampled_out=sampled, sample_rate=rate, sizes=sizes)
            # checked once, in _take (a team server checks them again on receipt)
            self.client().append(sealable(events))
        except StoreUnavailableError as exc:
            self._note(exc)
            return False
        except MlineageError as exc:
            self.rejected += len(traces)
            self._note(exc)
            return True
        except Exception as exc:  # noqa: BLE001 - a database error (locked, connection lost): try again
            self._note(exc)
            return False
        self.recorded += len(traces)
        self._reported = [dropped + self._reported[0], sampled + self._reported[1]]
        return True

    def _note(self, exc: BaseException) -> None:
        message = f"{type(exc).__name__}: {exc}"
        if message != self._last_error:
            log.warning("serving traces: %s", message)
            self._last_error = message

    # ------------------------------------------------------------ control

    def flush(self, timeout: float | None = None) -> dict[str, int]:
        """Write everything queued now (from the caller's thread, for tests and shutdown hooks)."""
        deadline = time.monotonic() + (self.exit_timeout if timeout is None else timeout)
        if self._thread is not None and self._thread.is_alive():
            while (self._queue or self._retry or self._writing) and time.monotonic() < deadline:
                self._wake.set()
                time.sleep(0.005)
        else:
            while (self._queue or self._retry) and time.monotonic() < deadline:
                self._write_all()
                if self._retry:
                    time.sleep(0.05)
        store_flush = getattr(self._client.store if self._client is not None else None, "flush", None)
        if store_flush is not None:
            store_flush(quiet=True)
        return self.stats()

    def close(self) -> None:
        """Stop taking traces, write what is queued, and say on stderr what was lost (at exit)."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(self.exit_timeout)
        elif self._queue or self._retry:
            try:
                self.flush(self.exit_timeout)
            except Exception as exc:  # noqa: BLE001 - at exit: report, never raise
                self._note(exc)
        with self._lock:
            unreported = self.dropped > self._reported[0] or self.sampled_out > self._reported[1]
        if unreported and self._client is not None and not self._queue and not self._retry:
            try:
                self._append([], [])  # the losses since the last batch, into the ledger too
            except Exception as exc:  # noqa: BLE001 - at exit: report, never raise
                self._note(exc)
        lost = {
            "dropped (queue full)": self.dropped,
            "rejected": self.rejected,
            "failed": self.failed,
            "not written at exit": len(self._queue) + sum(len(t) for t, _ in self._retry),
        }
        lost = {k: v for k, v in lost.items() if v}
        if lost:
            sys.stderr.write(
                "mlineage: serving traces lost: "
                + ", ".join(f"{v} {k}" for k, v in lost.items())
                + (f" (last error: {self._last_error})" if self._last_error else "")
                + "\n"
            )

    def stats(self) -> dict[str, int]:
        return {
            "queued": len(self._queue),
            "recorded": self.recorded,
            "dropped": self.dropped,
            "sampled_out": self.sampled_out,
            "rejected": self.rejected,
            "failed": self.failed,
            "retrying": sum(len(t) for t, _ in self._retry),
            "errors": self.errors,
        }

    def _after_fork(self) -> None:
        """A forked worker (gunicorn, multiprocessing) starts with an empty queue and its own thread and
        store connection: the parent's belong to the parent."""
        self._queue = collections.deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = None
        self._retry = []
        if self._own_client:
            self._client = None
            self.__dict__.pop("_resolver", None)


_default: list[TraceRecorder] = []
_default_lock = threading.Lock()


def default_recorder() -> TraceRecorder:
    """The process's recorder (made on first use, with the environment's settings)."""
    if _default:
        return _default[0]
    with _default_lock:
        if not _default:
            _default.append(TraceRecorder())
    return _default[0]


def configure(client: Client | None = None, **settings: Any) -> TraceRecorder:
    """Replace the process's recorder (the old one writes what it holds first)."""
    with _default_lock:
        if _default:
            _default.pop().close()
        _default.append(TraceRecorder(client, **settings))
    return _default[0]


def trace_request(
    endpoint: str | None = None,
    model: str | None = None,
    index: str | None = None,
    prompt: str | None = None,
    inputs_digest: str | None = None,
    **facts: Any,
) -> str | None:
    """Record that ``model`` (a registry ref such as ``chat@production``, or a digest) answered a request on
    ``endpoint``, retrieving from ``index`` with ``prompt``; ``facts`` are the trace's facts (``latency_ms``,
    ``input_tokens``, ``output_tokens``, ``cost``, ``guardrail``, ``tool_spans``, ...), ``retrieved`` its
    chunks and ``attributes`` its OpenTelemetry span attributes. Returns the trace id (None when sampled out
    or dropped). Queues and returns at once: see ``recorder.py``."""
    rec = _default[0] if _default else default_recorder()
    return rec.trace(endpoint, model, index, prompt, inputs_digest, **facts)
