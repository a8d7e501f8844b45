"""The nightly audit on a large ledger: `verify` (the hash chain) and `verify --projections` (a replay of the
ledger into scratch tables compared row by row with the live projections), with `rebuild` for reference.

The ledger is a realistic mix (runs with an input, params, metrics, an output and an end; about 11 events a
run), generated once per size into ``bench/.work/audit/`` on SQLite and reused. Full mode: 1,000,000 events;
``MLINEAGE_BENCH_QUICK=1``: 50,000. ``MLINEAGE_BENCH_AUDIT_EVENTS`` overrides the size.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from .harness import Result, workdir

NIGHTLY_SECONDS = 30 * 60  # the goal: the whole audit of a million events fits a nightly job comfortably


def _events_for_run(i: int) -> list[object]:
    from mlineage import events as ev

    run_id = f"run-{i:07d}"
    data = f"sha256:{i // 10:064x}"
    model = f"sha256:{'f' + format(i, '063x')}"
    out = []
    if i % 10 == 0:
        out.append(ev.NewEvent(ev.ARTIFACT_RECORDED, {"digest": data, "kind": "dataset", "size": 1000 + i,
                                                      "name": "data"}))
    out += [
        ev.NewEvent(ev.RUN_STARTED, {"run_id": run_id, "job": f"job-{i % 50}", "kind": "train",
                                     "params": {"lr": 0.01 * (1 + i % 7), "epochs": i % 20}}),
        ev.NewEvent(ev.ARTIFACT_USED, {"run_id": run_id, "digest": data, "role": "train"}),
        ev.NewEvent(ev.PARAMS_LOGGED, {"run_id": run_id, "params": {"seed": i}}),
    ]
    for step in range(4):
        metrics = [
            {
                "key": key,
                "value": 0.5 + 0.001 * ((i + step + n) % 400),
                "step": step,
                "ts": "2026-12-07T00:00:00.000000Z",
            }
            for n, key in enumerate(("loss", "acc", "f1", "auc", "lr"))
        ]
        out.append(ev.NewEvent(ev.METRICS_LOGGED, {"run_id": run_id, "metrics": metrics}))
    out += [
        ev.NewEvent(
            ev.ARTIFACT_RECORDED, {"digest": model, "kind": "model", "size": 10 * i, "name": "model"}
        ),
        ev.NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": run_id, "digest": model}),
        ev.NewEvent(ev.RUN_ENDED, {"run_id": run_id, "status": "completed"}),
    ]
    return out


def _ledger(size: int) -> Path:
    from mlineage.stores.sql import SqlStore

    path = workdir("audit") / f"ledger-{size}.db"
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    for leftover in partial.parent.glob(partial.name + "*"):
        leftover.unlink()
    store = SqlStore(f"sqlite:///{partial}")
    started = time.perf_counter()
    batch: list[object] = []
    written, run = 0, 0
    while written < size:
        batch.extend(_events_for_run(run))
        run += 1
        if len(batch) >= 1000 or written + len(batch) >= size:
            batch = batch[: size - written]
            store.append(batch)  # type: ignore[arg-type]
            written += len(batch)
            batch = []
    store.close()
    os.replace(partial, path)
    print(f"  generated a {size:,}-event ledger ({run:,} runs) in {time.perf_counter() - started:.0f} s")
    return path


def run(quick: bool) -> list[Result]:
    from mlineage.audit import compare_projections
    from mlineage.stores.sql import SqlStore

    size = int(os.environ.get("MLINEAGE_BENCH_AUDIT_EVENTS") or (50_000 if quick else 1_000_000))
    store = SqlStore(f"sqlite:///{_ledger(size)}")
    try:
        started = time.perf_counter()
        report = store.verify()
        chain = time.perf_counter() - started
        assert report.ok and report.count == size, report
        started = time.perf_counter()
        compared = compare_projections(store)
        projections = time.perf_counter() - started
        assert compared.ok and compared.events == size, compared
        started = time.perf_counter()
        store.rebuild()
        rebuild = time.perf_counter() - started
    finally:
        store.close()
    print(f"  {size:,} events: verify {chain:.1f} s, verify --projections adds {projections:.1f} s "
          f"({compared.rows:,} rows compared), rebuild {rebuild:.1f} s")
    label = f"{size // 1000:,}k events, SQLite"
    total = chain + projections
    return [
        Result(f"verify: hash chain ({label})", chain, "-", None, "s", False, "-", None),
        Result(
            f"verify --projections: replay + compare ({label})",
            projections,
            "rebuild, same ledger",
            rebuild,
            "s",
            False,
            "-",
            None,
        ),
        Result(
            f"nightly audit, chain + projections ({label})",
            total,
            "-",
            None,
            "s",
            False,
            f"< {NIGHTLY_SECONDS // 60} min per 1M events",
            total * (1_000_000 / size) < NIGHTLY_SECONDS,
        ),
    ]
