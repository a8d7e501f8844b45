"""``python -m bench.pool_autolog [COMMIT ...]``: every kept autolog run of the same code, pooled.

``bench_autolog`` keeps each full run's raw round times (``keep_rounds``). On this shared machine one run's
paired median moves by half a point or more from one run to the next with nothing changed, so a verdict
that rests on one run is a coin toss near the line; pooling the rounds of every run of one commit gives the
same statistic (median of the paired ratios, 90% bootstrap interval) over many more rounds. Without
arguments each commit is a group of its own; commits named on the command line are pooled together, and the
tool refuses unless they hold the same ``src/`` tree (the code measured). Runs with uncommitted changes to
``src/`` or ``bench/`` are marked ``+dirty`` and kept apart.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .bench_autolog import JOBS, ROUNDS_FILE, _paired_interval, _paired_ms, _paired_overhead
from .harness import workdir


def pooled(commits: list[str]) -> list[str]:
    path = workdir("autolog") / ROUNDS_FILE
    if not path.exists():
        return [f"no kept runs yet ({path}): run `python -m bench autolog` first"]
    groups: dict[tuple[str, str], dict[str, list[float]]] = {}
    runs: dict[tuple[str, str], list[str]] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(raw)
        if commits and entry["commit"] not in commits:
            continue
        key = ("+".join(commits) if commits else entry["commit"], entry["job"])
        runs.setdefault(key, []).append(entry["utc"])
        for arm, values in entry["times"].items():
            groups.setdefault(key, {}).setdefault(arm, []).extend(values)
    labels = {job.name: job.label for job in JOBS}
    lines = []
    for (commit, job), times in sorted(groups.items(), key=lambda item: (runs[item[0]][0], item[0][1])):
        low, high = _paired_interval(times, "mlineage")
        stamps = runs[(commit, job)]
        lines.append(
            f"{commit} {labels.get(job, job)}: {len(stamps)} runs ({stamps[0]} to {stamps[-1]}), "
            f"{len(times['mlineage'])} rounds: paired median {_paired_overhead(times, 'mlineage'):+.2f}% "
            f"({_paired_ms(times, 'mlineage'):+.1f} ms; 90% interval {low:+.2f} to {high:+.2f}%), "
            f"A/A control {_paired_overhead(times, 'off again'):+.2f}%")
    return lines


def same_code(commits: list[str]) -> bool:
    """Whether every commit named holds the same ``src/`` tree."""
    trees = {subprocess.run(["git", "rev-parse", f"{commit}:src"], cwd=Path(__file__).resolve().parents[1],
                            capture_output=True, text=True, check=False).stdout.strip() for commit in commits}
    return len(trees) == 1 and "" not in trees


if __name__ == "__main__":
    wanted = sys.argv[1:]
    if len(wanted) > 1 and not same_code(wanted):
        sys.exit(f"{', '.join(wanted)} do not all hold the same src/ tree: their runs measured different code")
    print("\n".join(pooled(wanted)))
