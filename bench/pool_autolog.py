"""``python -m bench.pool_autolog [COMMIT ...]``: every kept autolog run of the same code, pooled.

``bench_autolog`` keeps each full run's raw round times (``keep_rounds``). On this shared machine one run's
paired median moves by half a point or more from one run to the next with nothing changed, so a verdict
that rests on one run is a coin toss near the line; pooling the rounds of every run of one commit gives the
same statistic (median of the paired ratios, 90% bootstrap interval) over many more rounds. Without
arguments each commit is a group of its own; commits named on the command line are pooled together, and the
tool refuses unless they hold the same ``src/`` tree (the code measured). Runs with uncommitted changes to
``src/``, ``bench/bench_autolog.py`` or ``bench/harness.py`` are marked ``+dirty`` and kept apart unless named
(``COMMIT+dirty``), which is for the one who knows what the change was.
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys

from .bench_autolog import JOBS, PROCESSES, ROUNDS_FILE, _paired_interval, _paired_ms, _paired_overhead
from .harness import REPO, workdir

PROCESSES_ROUNDS = (
    36 // PROCESSES
)  # rounds per process in every full run so far (36 or 72 rounds, 6 a process)


def _process_interval(ratios: list[list[float]]) -> tuple[float, float]:
    """A 90% interval for the pooled paired median that resamples whole processes rather than rounds: the
    rounds of one process share its memory layout and are not independent (see ``_in_processes``)."""
    rng = random.Random(0)
    medians = sorted(statistics.median([r for chosen in rng.choices(ratios, k=len(ratios)) for r in chosen])
                     for _ in range(2000))
    return medians[100] * 100, medians[1899] * 100


def pooled(commits: list[str]) -> list[str]:
    path = workdir("autolog") / ROUNDS_FILE
    if not path.exists():
        return [f"no kept runs yet ({path}): run `python -m bench autolog` first"]
    groups: dict[tuple[str, str], dict[str, list[float]]] = {}
    runs: dict[tuple[str, str], list[str]] = {}
    processes: dict[tuple[str, str], list[list[float]]] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(raw)
        if commits and entry["commit"] not in commits:
            continue
        key = ("+".join(commits) if commits else entry["commit"], entry["job"])
        runs.setdefault(key, []).append(entry["utc"])
        times = entry["times"]
        for arm, values in times.items():
            groups.setdefault(key, {}).setdefault(arm, []).extend(values)
        per = int(entry.get("rounds_per_process", PROCESSES_ROUNDS))  # each process's rounds, in order
        ratios = [ours / off - 1 for ours, off in zip(times["mlineage"], times["off"], strict=True)]
        processes.setdefault(key, []).extend(
            ratios[start : start + per] for start in range(0, len(ratios), per)
        )
    labels = {job.name: job.label for job in JOBS}
    lines = []
    for (commit, job), times in sorted(groups.items(), key=lambda item: (runs[item[0]][0], item[0][1])):
        low, high = _paired_interval(times, "mlineage")
        by_process = processes[(commit, job)]
        p_low, p_high = _process_interval(by_process)
        stamps = runs[(commit, job)]
        lines.append(
            f"{commit} {labels.get(job, job)}: {len(stamps)} runs ({stamps[0]} to {stamps[-1]}), "
            f"{len(times['mlineage'])} rounds in {len(by_process)} processes: paired median "
            f"{_paired_overhead(times, 'mlineage'):+.2f}% ({_paired_ms(times, 'mlineage'):+.1f} ms); "
            f"90% interval {low:+.2f} to {high:+.2f}% resampling rounds, "
            f"{p_low:+.2f} to {p_high:+.2f}% resampling processes; "
            f"A/A control {_paired_overhead(times, 'off again'):+.2f}%"
        )
    return lines


def same_code(commits: list[str]) -> bool:
    """Whether every commit named holds the same ``src/`` tree."""
    trees = {subprocess.run(["git", "rev-parse", f"{commit.removesuffix('+dirty')}:src"],
                            cwd=REPO, capture_output=True, text=True,
                            check=False).stdout.strip() for commit in commits}
    return len(trees) == 1 and "" not in trees


if __name__ == "__main__":
    wanted = sys.argv[1:]
    if len(wanted) > 1 and not same_code(wanted):
        sys.exit(
            f"{', '.join(wanted)} do not all hold the same src/ tree: their runs measured different code"
        )
    print("\n".join(pooled(wanted)))
