"""Bulk reads for lineage output, through the driver's own cursor: node records (optionally as they stood at
a ledger seq) and the edges among a set of nodes. ``SqlStore.node_records`` and ``SqlStore.edges_among`` call
these; the graph layer uses them when a store has them and ``describe``/``adjacent`` otherwise.

Why not SQLAlchemy: a trace of a few thousand nodes spent most of its time in per-row Core overhead.

Time travel (``as_of_seq``): the projections hold each node as it is now, but the ledger orders every change,
so a node is described as it stood at seq T from what the projections already record about when (a node
created after T is left out):

* an artifact's kind, size, uri, media type and metadata are fixed by its first record; its name/version is
  the label of its first *named* record (later names add versions rows but never rename it), so the label
  is shown only when that versions row's ``created_seq`` <= T;
* a run whose ``updated_seq`` <= T is unchanged since; any other run is folded from its own ledger events
  (RunStarted, ParamsLogged, MetricsLogged, RunEnded) with seq <= T by the runs projection's pure fold
  (``stores/projections/runs.py``: ``fold_run``).
  Those events are found by seq range (the run's creation .. T) and the run id in the canonical payload.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..model import Artifact, Run, RunKind, RunStatus
from .protocol import Direction
from .rows import ARTIFACT_COLUMNS, artifact_from_row, json_column

_ARTIFACTS = (
    f"SELECT {', '.join('a.' + c for c in ARTIFACT_COLUMNS)}, a.node_id, {{label}}, a.created_seq "
    "FROM artifacts a{join} WHERE a.node_id {among}"
)
_LABEL_JOIN = " LEFT JOIN versions v ON v.name = a.name AND v.version = a.version"
# A digest's later occurrences (nodes of their own, no artifacts row: ``stores/projections/graph.py``), read
# only for node ids the two queries above left undescribed: the same columns, then the ordinal.
_OCCURRENCES = (
    f"SELECT {', '.join('a.' + c for c in ARTIFACT_COLUMNS)}, o.node_id, {{label}}, o.created_seq, o.ordinal "
    "FROM occurrences o JOIN artifacts a ON a.digest = o.digest{join} WHERE o.node_id {among}"
)
_RUNS = (
    "SELECT node_id, id, job, kind, status, params, metrics, context, agent, error, started_at, ended_at, "
    "created_seq, updated_seq FROM runs WHERE node_id {among}"
)
# {types}: the runs projection's event types (imported with it only for a time-travel read: the projections
# package loads the whole event catalogue, which a plain read of records does not need)
_RUN_EVENTS = ("SELECT seq, type, payload FROM events WHERE seq >= {p} AND seq <= {p} AND type IN ({types}) "
               "AND {contains} ORDER BY seq")
_EDGES = "SELECT {near}, {far}, type, role FROM edges WHERE {near} {among}{when}"


def _run(row: tuple[Any, ...]) -> Run:
    return Run(
        row[1],
        row[2],
        RunKind(row[3]),
        RunStatus(row[4]),
        json_column(row[5]),
        json_column(row[6]),
        json_column(row[7]),
        row[8],
        json_column(row[9]),
        row[10],
        row[11],
    )


class RecordReader:
    """Reads through one DB-API cursor; ``postgres`` picks the placeholder style and the id-list operator."""

    def __init__(self, cursor: Any, postgres: bool) -> None:
        self.cursor = cursor
        self.postgres = postgres
        self.p = "%s" if postgres else "?"

    def _among(self, chunk: Sequence[int]) -> tuple[str, tuple[Any, ...]]:
        if (
            self.postgres
        ):  # one array parameter, sent as text: psycopg's list adaptation costs more than the query
            return "= ANY(%s::int[])", ("{" + ",".join(str(int(i)) for i in chunk) + "}",)
        return f"IN ({','.join('?' * len(chunk))})", tuple(chunk)

    def node_records(self, chunks: list[Sequence[int]], as_of_seq: int | None) -> dict[int, Artifact | Run]:
        out: dict[int, Artifact | Run] = {}
        later: list[tuple[Any, ...]] = []
        label, join = ("v.created_seq", _LABEL_JOIN) if as_of_seq is not None else ("NULL", "")
        for chunk in chunks:
            among, params = self._among(chunk)
            self.cursor.execute(_ARTIFACTS.format(label=label, join=join, among=among), params)
            rows = self.cursor.fetchall()
            for row in rows:
                if as_of_seq is None:
                    out[int(row[9])] = artifact_from_row(row)
                elif row[11] <= as_of_seq:
                    out[int(row[9])] = artifact_from_row(row, row[10] is not None and row[10] <= as_of_seq)
            self.cursor.execute(_RUNS.format(among=among), params)
            run_rows = self.cursor.fetchall()
            described = len(rows) + len(run_rows)
            for row in run_rows:
                if as_of_seq is not None and row[12] > as_of_seq:
                    continue  # not started yet
                if as_of_seq is not None and row[13] > as_of_seq:
                    later.append(row)
                else:
                    out[int(row[0])] = _run(row)
            if described < len(chunk):  # some node is neither an artifact's first node nor a run
                found = {int(r[9]) for r in rows} | {int(r[0]) for r in run_rows}
                among, params = self._among([i for i in chunk if int(i) not in found])
                self.cursor.execute(_OCCURRENCES.format(label=label, join=join, among=among), params)
                for row in self.cursor.fetchall():
                    if as_of_seq is None or row[11] <= as_of_seq:
                        labelled = as_of_seq is None or (row[10] is not None and row[10] <= as_of_seq)
                        out[int(row[9])] = artifact_from_row(row, labelled, int(row[12]))
        for row in later:
            assert as_of_seq is not None
            out[int(row[0])] = self._run_as_of(row, as_of_seq)
        return out

    def _run_as_of(self, row: tuple[Any, ...], as_of_seq: int) -> Run:
        """The run folded from its own events up to ``as_of_seq`` (the projector's rules, read-only)."""
        from .projections.runs import RUN_EVENTS, fold_run

        types = ", ".join(repr(t) for t in RUN_EVENTS)
        run_id = row[1]
        needle = '"run_id":' + json.dumps(run_id, ensure_ascii=False)  # as in the canonical payload text
        contains = f"strpos(payload, {self.p}) > 0" if self.postgres else f"instr(payload, {self.p}) > 0"
        self.cursor.execute(_RUN_EVENTS.format(p=self.p, types=types, contains=contains),
                            (row[12], as_of_seq, needle))
        found = self.cursor.fetchall()
        if not found or found[0][0] != row[12]:
            # the RunStarted event (at the run's created_seq) was not matched: an id the canonical form writes
            # differently (or an erased start). Read the range by type alone and match the id after parsing.
            self.cursor.execute(_RUN_EVENTS.format(p=self.p, types=types, contains="1 = 1"),
                                (row[12], as_of_seq))
            found = self.cursor.fetchall()
        run: Run | None = Run(
            run_id,
            row[2],
            RunKind(row[3]),
            RunStatus.RUNNING,
            {},
            {},
            json_column(row[7]),
            row[8],
            None,
            row[10],
            None,
        )
        for _seq, type_, payload in found:
            p = json.loads(payload) if payload is not None else None  # an erased payload projects nothing
            if p is not None and p.get("run_id") == run_id:
                run = fold_run(run, type_, p)
        assert run is not None
        return run

    def edges_among(self, chunks: list[Sequence[int]], members: set[int], direction: Direction,
                    as_of_seq: int | None) -> list[tuple[int, int, str, str]]:
        near, far = ("child", "parent") if direction == "up" else ("parent", "child")
        when = "" if as_of_seq is None else f" AND created_seq <= {int(as_of_seq)}"
        found: list[tuple[int, int, str, str]] = []
        for chunk in chunks:
            among, params = self._among(chunk)
            self.cursor.execute(_EDGES.format(near=near, far=far, among=among, when=when), params)
            found.extend(row for row in self.cursor.fetchall() if row[1] in members)
        return found
