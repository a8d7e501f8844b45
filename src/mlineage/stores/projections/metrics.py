"""Metric histories: every value of every key, packed a batch per row (see ``stores/metric_codec.py``)."""

from __future__ import annotations

import operator
from typing import Any

from ... import events as ev
from ...events import StoredEvent
from ..metric_codec import pack_steps, pack_timestamps, pack_values
from .base import Handler, Projection

_KEY, _STEP, _VALUE, _TS = (operator.itemgetter(field) for field in ("key", "step", "value", "ts"))


def _by_key(keys: list[str], steps: list[int], values: list[float],
            stamps: list[str]) -> dict[str, tuple[list[int], list[float], list[str]]]:
    """Each key's steps, values and timestamps, in order: one pass over the values (a training loop's flush
    usually has one key, and then the columns are used as they are)."""
    if len(set(keys)) == 1:
        return {keys[0]: (steps, values, stamps)}
    grouped: dict[str, tuple[list[int], list[float], list[str]]] = {}
    for key, step, value, stamp in zip(keys, steps, values, stamps, strict=True):
        columns = grouped.get(key)
        if columns is None:
            columns = grouped[key] = ([], [], [])
        columns[0].append(step)
        columns[1].append(value)
        columns[2].append(stamp)
    return grouped


class MetricsProjection(Projection):
    """Owns ``metric_batches``: one row per run, key and event, its values in logging order (a training
    run's flush is one or a few rows, not a row and an index entry per value)."""

    name = "metrics"
    tables = ("metric_batches",)

    def __init__(self, writer: Any) -> None:
        super().__init__(writer)
        mark = "%s" if writer.postgres else "?"
        self._insert = ("INSERT INTO metric_batches (run_id, key, seq, steps, metric_values, timestamps) "
                        f"VALUES ({', '.join([mark] * 6)})")

    def handlers(self) -> dict[str, Handler]:
        return {ev.METRICS_LOGGED: self._metrics_logged}

    def _metrics_logged(self, e: StoredEvent, p: dict[str, Any]) -> None:
        run_id = p["run_id"]
        self.writer.projection("runs").state(run_id)  # the run must exist
        # The columns are taken in C loops (validated payloads have exactly these four fields).
        metrics = p["metrics"]
        keys = list(map(_KEY, metrics))
        steps, values, stamps = list(map(_STEP, metrics)), list(map(_VALUE, metrics)), list(map(_TS, metrics))
        rows = [(run_id, key, e.seq, pack_steps(s), pack_values(v), pack_timestamps(t))
                for key, (s, v, t) in _by_key(keys, steps, values, stamps).items()]
        self.writer.cursor.executemany(self._insert, rows)
