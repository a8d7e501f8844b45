"""Reading runs and metric histories straight from an MLflow SQLite store's tables, read-only.

``MlflowClient.search_runs`` builds an ORM object per run, param, tag and metric and pages by OFFSET, which
made listing the runs cost as much as everything else an import does; metric histories through MLflow's ORM
cost more still. These queries read the same rows MLflow's ``SqlRun.to_mlflow_entity`` and
``_get_run_inputs`` read (``runs``, ``params``, ``tags``, ``latest_metrics``, ``inputs``/``datasets``/
``input_tags``, ``metrics``) at the schema version MLflow accepted when the reader opened the store (its own
check runs first), and give the same values: a run's name falls back to its ``mlflow.runName`` tag, a NaN
is ``is_nan``. Pages are keyed on (start time, run id), so each page is one indexed range however large the
store, and no read transaction is held between pages (MLflow can keep writing).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .mlflow import ListedRun

HISTORY_RUNS = 200  # runs per metric-history query (an IN list of run ids)
_NO_START = -(2**62)  # where a run without a start time sorts (first, as SQLite sorts NULL)
History = dict[tuple[str, str], list[tuple[int, float, int]]]  # (run id, key) -> [(step, value, timestamp)]


def connect(path: str | Path) -> sqlite3.Connection:
    """A read-only connection: the import never writes to the store it reads."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def _in(ids: Sequence[str]) -> str:
    return ",".join("?" * len(ids))


def run_pages(conn: sqlite3.Connection, page: int) -> Iterator[list[ListedRun]]:
    """Every run of every experiment (deleted ones included, as ``ViewType.ALL``), oldest first, ``page`` at
    a time."""
    after: tuple[int, str] = (_NO_START - 1, "")
    while True:
        rows = conn.execute(
            "SELECT run_uuid, experiment_id, name, status, start_time, end_time, user_id, lifecycle_stage, "
            "artifact_uri, COALESCE(start_time, ?) AS k FROM runs "
            "WHERE COALESCE(start_time, ?) > ? OR (COALESCE(start_time, ?) = ? AND run_uuid > ?) "
            "ORDER BY k, run_uuid LIMIT ?",
            (_NO_START, _NO_START, after[0], _NO_START, after[0], after[1], page)).fetchall()
        if not rows:
            return
        yield _listed(conn, rows)
        after = (int(rows[-1][9]), str(rows[-1][0]))
        if len(rows) < page:
            return


def _listed(conn: sqlite3.Connection, rows: list[Any]) -> list[ListedRun]:
    ids = [str(r[0]) for r in rows]
    marks = _in(ids)
    params: dict[str, dict[str, str]] = {rid: {} for rid in ids}
    tags: dict[str, dict[str, str]] = {rid: {} for rid in ids}
    latest: dict[str, dict[str, float]] = {rid: {} for rid in ids}
    for rid, key, value in conn.execute(
            f"SELECT run_uuid, key, value FROM params WHERE run_uuid IN ({marks})", ids):
        params[rid][key] = value
    for rid, key, value in conn.execute(
            f"SELECT run_uuid, key, value FROM tags WHERE run_uuid IN ({marks})", ids):
        tags[rid][key] = value
    for rid, key, value, is_nan in conn.execute(
            f"SELECT run_uuid, key, value, is_nan FROM latest_metrics WHERE run_uuid IN ({marks})", ids):
        latest[rid][key] = float("nan") if is_nan else float(value)
    datasets = _dataset_inputs(conn, ids)
    out = []
    for run_uuid, experiment_id, name, status, start, end, user, stage, artifact_uri, _ in rows:
        out.append(ListedRun(
            run_id=run_uuid, experiment_id=str(experiment_id),
            run_name=name or tags[run_uuid].get("mlflow.runName"), status=status, start_time=start,
            end_time=end, user=user, lifecycle_stage=stage, artifact_uri=artifact_uri,
            params=params[run_uuid], tags=tags[run_uuid], latest=latest[run_uuid],
            datasets=datasets.get(run_uuid, [])))
    return out


def _dataset_inputs(conn: sqlite3.Connection, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Run id -> its dataset inputs (name, digest, source type, source, schema, context), as
    ``_get_run_inputs`` joins them."""
    rows = conn.execute(
        "SELECT i.input_uuid, i.destination_id, d.name, d.digest, d.dataset_source_type, d.dataset_source, "
        "d.dataset_schema FROM inputs i JOIN datasets d ON i.source_id = d.dataset_uuid "
        "WHERE i.destination_type = 'RUN' AND i.source_type = 'DATASET' "
        f"AND i.destination_id IN ({_in(ids)}) "
        "ORDER BY i.destination_id, i.input_uuid", ids).fetchall()
    if not rows:
        return {}
    contexts = dict(conn.execute(
        f"SELECT input_uuid, value FROM input_tags WHERE name = 'mlflow.data.context' "
        f"AND input_uuid IN ({_in([r[0] for r in rows])})", [r[0] for r in rows]).fetchall())
    out: dict[str, list[dict[str, Any]]] = {}
    for input_uuid, rid, name, digest, source_type, source, schema in rows:
        out.setdefault(rid, []).append({"name": name, "digest": digest, "source_type": source_type,
                                        "source": source, "schema": schema,
                                        "context": contexts.get(input_uuid)})
    return out


def histories(conn: sqlite3.Connection, run_ids: list[str]) -> History:
    """(run id, key) -> every value of the metric, for many runs: a query per ``HISTORY_RUNS`` runs. The
    values are as SQLite gives them (integer steps and times, float values: MLflow's column types);
    ``map_run`` converts and orders them."""
    out: History = {}
    nan = float("nan")
    for start in range(0, len(run_ids), HISTORY_RUNS):
        chunk = run_ids[start:start + HISTORY_RUNS]
        rows = conn.execute("SELECT run_uuid, key, step, value, timestamp, is_nan FROM metrics "
                            f"WHERE run_uuid IN ({_in(chunk)})", chunk)
        last: tuple[str, str] | None = None
        values: list[tuple[int, float, int]] = []
        for rid, key, step, value, ts, is_nan in rows:
            if (rid, key) != last:
                last = (rid, key)
                values = out.setdefault(last, [])
            values.append((step, nan if is_nan else value, ts))
    return out
