"""The shared shape of a benchmark result and the table `make bench` prints.

A benchmark module exposes ``run(quick: bool) -> list[Result]``. Each Result compares mlineage with a peer
measured in the same run, so the ratio is meaningful even on a noisy shared machine.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "bench" / ".work"


@dataclass
class Result:
    name: str  # what was measured
    ours: float  # mlineage's figure
    peer_name: str  # e.g. "MLflow 3.18 (SQLite)"
    peer: float | None  # the peer's figure in the same run
    unit: str  # "ms/run", "events/s", "MB/s", ...
    higher_is_better: bool
    goal: str  # the target, in words
    met: bool | None  # whether the goal was met (None when the goal is not a ratio we can check)

    @property
    def advantage(self) -> float | None:
        """How many times better mlineage is than the peer (>1 means better)."""
        if self.peer is None or self.peer == 0 or self.ours == 0:
            return None
        return self.ours / self.peer if self.higher_is_better else self.peer / self.ours


def workdir(name: str) -> Path:
    path = WORK / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    """Minimum wall time in seconds over ``repeat`` calls: the least noisy estimate on a shared machine."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def median_of(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def quick_mode() -> bool:
    return os.environ.get("MLINEAGE_BENCH_QUICK") == "1"
