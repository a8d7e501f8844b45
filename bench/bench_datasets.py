"""Dataset diffs, profiles and drift side by side with DuckDB, datacompy and PyArrow, in the same run.

Two N-row Parquet files of 5 columns (1% of rows changed, 0.5% added, 0.5% removed) are generated here.
``mlineage diff --key id`` runs as a real CLI subprocess on the files on disk and prints its text summary
(schema diff, row counts, changed cells per column, semantic-version verdict; no sample rows), with the
process's peak memory; DuckDB's own FULL OUTER JOIN of the same tables already loaded in its memory, and
datacompy's ``PandasCompare`` of the same tables already loaded as pandas DataFrames, run in this process
(loading untimed). The profile of one file is compared with one PyArrow read of it; drift of 20 columns is
timed from their stored profile bytes. N is 10,000,000, or 1,000,000 with MLINEAGE_BENCH_QUICK=1.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .harness import Result, best_of, workdir

BIN = Path(sys.executable).parent
MLINEAGE = (
    [str(BIN / "mlineage")] if (BIN / "mlineage").exists() else [sys.executable, "-m", "mlineage.cli.entry"]
)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MLINEAGE_URI", "MLINEAGE_ARTIFACTS")}
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(
            os.path.abspath(p) for p in env["PYTHONPATH"].split(os.pathsep) if p
        )
    return env


def generate(folder: Path, n: int) -> tuple[Path, Path]:
    """Two versions of an n-row table: B has 1% of A's rows changed (x), 0.5% removed, 0.5% added."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    a_path, b_path = folder / f"a-{n}.parquet", folder / f"b-{n}.parquet"
    if a_path.exists() and b_path.exists():
        return a_path, b_path
    rng = np.random.default_rng(7)
    cats = np.array([f"c{i:02d}" for i in range(50)])

    def block(ids: Any) -> pa.Table:
        m = len(ids)
        return pa.table(
            {
                "id": ids,
                "x": rng.normal(size=m),
                "y": rng.integers(0, 1000, m),
                "cat": cats[rng.integers(0, 50, m)],
                "z": rng.random(m),
            }
        )

    a = block(np.arange(n, dtype=np.int64))
    pq.write_table(a, a_path)
    keep = np.ones(n, bool)
    keep[rng.choice(n, n // 200, replace=False)] = False
    b = a.filter(pa.array(keep))
    x = b.column("x").to_numpy().copy()
    x[rng.choice(len(x), n // 100, replace=False)] += 1.0
    b = b.set_column(1, "x", pa.array(x))
    b = pa.concat_tables([b, block(np.arange(n, n + n // 200, dtype=np.int64))])
    pq.write_table(b, b_path)
    return a_path, b_path


def _ours(project: Path, a: Path, b: Path) -> tuple[float, int, dict[str, Any]]:
    """Wall time and peak RSS (bytes) of one `mlineage diff --key id --json` process."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*MLINEAGE, "diff", str(a), str(b), "--key", "id"],
        cwd=project,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = proc.communicate()
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"mlineage diff failed: {err.decode()[-2000:]}")
    return elapsed, 0, _summary(out.decode())


def _summary(text: str) -> dict[str, Any]:
    """The counts and verdict of the text summary (what a user reads)."""
    import re

    rows = re.search(r"([\d,]+) added, ([\d,]+) removed, ([\d,]+) changed", text)
    level = re.search(r"^semver: (\w+)", text, re.MULTILINE)
    if rows is None or level is None:
        raise RuntimeError(f"unexpected diff output:\n{text}")
    added, removed, changed = (int(g.replace(",", "")) for g in rows.groups())
    return {"added": added, "removed": removed, "changed": changed, "verdict": level.group(1)}


def _ours_peak(project: Path, a: Path, b: Path) -> tuple[float, int, dict[str, Any]]:
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    elapsed, _, answer = _ours(project, a, b)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, (max(before, after)) * 1024, answer


DUCKDB_JOIN = (
    "SELECT count(*) FILTER (WHERE a.id IS NULL), count(*) FILTER (WHERE b.id IS NULL), "
    "count(*) FILTER (WHERE a.id IS NOT NULL AND b.id IS NOT NULL AND (a.x IS DISTINCT FROM b.x OR "
    "a.y IS DISTINCT FROM b.y OR a.cat IS DISTINCT FROM b.cat OR a.z IS DISTINCT FROM b.z)) "
    "FROM ta a FULL OUTER JOIN tb b ON a.id = b.id"
)


def run(quick: bool) -> list[Result]:
    import duckdb
    import pyarrow.parquet as pq

    n = 1_000_000 if quick else 10_000_000
    label = f"{n // 1_000_000}M rows"
    folder = workdir("datasets")
    a, b = generate(folder, n)
    project = folder / "project"
    if not (project / ".mlineage").exists():
        project.mkdir(exist_ok=True)
        subprocess.run([*MLINEAGE, "init"], cwd=project, env=_env(), check=True, capture_output=True)
    results: list[Result] = []

    _ours_peak(project, a, b)  # the files into the page cache, as for the peers
    times, peak, answer = [], 0, {}
    for _ in range(3):
        elapsed, rss, answer = _ours_peak(project, a, b)
        times.append(elapsed)
        peak = max(peak, rss)
    ours = min(times)
    rows = answer
    assert (rows["added"], rows["removed"], rows["changed"]) == (n // 200, n // 200, n // 100), rows
    verdict = answer["verdict"]
    print(f"  mlineage diff: {ours:.2f} s, peak RSS {peak / 2**20:,.0f} MiB, verdict {verdict}")

    con = duckdb.connect()
    con.execute(f"CREATE TABLE ta AS SELECT * FROM read_parquet('{a}')")
    con.execute(f"CREATE TABLE tb AS SELECT * FROM read_parquet('{b}')")
    duck = best_of(lambda: con.execute(DUCKDB_JOIN).fetchall(), 3)
    con.close()
    results.append(
        Result(
            f"diff --key id, 2 x {label} Parquet (from disk)",
            ours,
            f"DuckDB {duckdb.__version__} join (in memory)",
            duck,
            "s",
            False,
            "<= 1.5x DuckDB",
            ours <= 1.5 * duck,
        )
    )
    try:
        import datacompy

        ta, tb = pq.read_table(a).to_pandas(), pq.read_table(b).to_pandas()

        def compare() -> None:
            c = datacompy.PandasCompare(ta, tb, join_columns="id")
            c.matches()

        started = time.perf_counter()
        compare()
        peer: float | None = time.perf_counter() - started
        results.append(
            Result(
                f"diff --key id, 2 x {label} Parquet (from disk)",
                ours,
                f"datacompy {datacompy.__version__} (pandas, in memory)",
                peer,
                "s",
                False,
                ">= 8x faster",
                peer is not None and peer / ours >= 8,
            )
        )
    except ImportError:
        results.append(
            Result(
                f"diff --key id, 2 x {label} Parquet",
                ours,
                "datacompy (not installed)",
                None,
                "s",
                False,
                ">= 8x faster",
                None,
            )
        )
    results.append(
        Result(
            f"diff --key id, {label}: peak memory",
            peak / 2**20,
            "-",
            None,
            "MiB",
            False,
            "< 2 GiB",
            peak < 2 * 2**30,
        )
    )

    from mlineage.datasets.differ import Materialized
    from mlineage.datasets.model import Side
    from mlineage.datasets.service import compute_profile

    side = Materialized(Side(str(a)), a.name, path=a)
    profile_time = best_of(lambda: compute_profile(side), 3)
    read_time = best_of(lambda: pq.read_table(a), 3)
    results.append(
        Result(
            f"profile of a {label} Parquet file",
            profile_time,
            f"one PyArrow read ({pq.__name__.split('.')[0]})",
            read_time,
            "s",
            False,
            "<= 1.5x a PyArrow read",
            profile_time <= 1.5 * read_time,
        )
    )

    stored_a, stored_b = _twenty_column_profiles(folder)
    from mlineage.datasets.drift import drift
    from mlineage.datasets.profile import Profile

    def from_stored() -> None:
        report = drift(Profile.from_bytes(stored_a), Profile.from_bytes(stored_b))
        assert len(report.columns) == 20

    drift_ms = best_of(from_stored, 5) * 1000
    results.append(
        Result(
            "drift of 20 columns from stored profiles",
            drift_ms,
            "-",
            None,
            "ms",
            False,
            "< 50 ms",
            drift_ms < 50,
        )
    )
    return results


def _twenty_column_profiles(folder: Path) -> tuple[bytes, bytes]:
    """The stored profile bytes of two versions of a 20-column table (14 numeric, 6 categorical)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mlineage.datasets.differ import Materialized
    from mlineage.datasets.model import Side
    from mlineage.datasets.service import compute_profile

    out = []
    for seed, shift in ((1, 0.0), (2, 0.3)):
        rng = np.random.default_rng(seed)
        cols: dict[str, Any] = {f"n{i}": rng.normal(shift * i / 10, 1, 200_000) for i in range(10)}
        cols.update({f"k{i}": rng.integers(0, 20 + i, 200_000) for i in range(4)})
        cols.update(
            {f"c{i}": np.array([f"v{j}" for j in range(30)])[rng.integers(0, 30, 200_000)] for i in range(6)}
        )
        path = folder / f"twenty-{seed}.parquet"
        pq.write_table(pa.table(cols), path)
        out.append(compute_profile(Materialized(Side(str(path)), path.name, path=path)).to_bytes())
    return out[0], out[1]
