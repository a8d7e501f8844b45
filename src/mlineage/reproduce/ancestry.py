"""The steps a run depends on, producers before consumers, each with its inputs: what ``--upstream`` walks.

Each data input is followed to the latest run that produced its content (a re-run or a reused step stands
for the content now). ``order_steps`` is that walk over two functions (a run's inputs, a digest's
producers), so any store can answer them. ``read_ancestry`` answers them for a whole ancestry at once,
through a DB-API cursor, in five queries: the run's node, one recursive query for the ancestor nodes, their
USED and PRODUCED edges in recorded order, the runs' creation order, the records. The same function serves
the SQL store (SQLite and PostgreSQL, through SQLAlchemy's connection) and the first-call path of a no-op
check on a SQLite file opened with plain ``sqlite3`` (``quick.py``), so both read the same answer.

Light on purpose: the standard library, the domain model and the row decoders only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..model import Artifact, Run
from .key import CONTEXT_ROLES

Inputs = list[tuple[Artifact, str]]
Step = tuple[Run, Inputs]

WALK_MAX_NODES = 20_000  # past this, the run-by-run walk (bounded queries) rather than one large read
_CHUNK = 900  # ids per IN list on SQLite: under its bound-parameter limit


def order_steps(
    run: Run, inputs_of: Callable[[Run], Inputs], producers_of: Callable[[str], list[Run]]
) -> list[Step]:
    """``run`` and the runs it depends on (itself last) with their inputs, producers before consumers."""
    order: list[Step] = []
    done: set[str] = set()

    def visit(step: Run, trail: frozenset[str]) -> None:
        if step.id in done or step.id in trail:
            return
        inputs = inputs_of(step)
        for artifact, role in inputs:
            if (role or "") in CONTEXT_ROLES:
                continue
            producers = [p for p in producers_of(str(artifact.digest)) if p.id != step.id]
            if producers:
                visit(producers[-1], trail | {step.id})
        done.add(step.id)
        order.append((step, inputs))

    visit(run, frozenset())
    return order


@dataclass
class Ancestry:
    """A run's ancestry as read at once: every ancestor run's inputs and every ancestor digest's producers
    (the answers of ``io_of_run`` and ``producers_of`` for each run and digest the walk can reach)."""

    inputs: dict[str, Inputs] = field(default_factory=dict)
    producers: dict[str, dict[str, tuple[int, Run]]] = field(default_factory=dict)

    def inputs_of(self, step: Run) -> Inputs:
        return self.inputs.get(step.id, [])

    def producers_of(self, digest: str) -> list[Run]:
        return [r for _, r in sorted(self.producers.get(digest, {}).values(), key=lambda x: x[0])]

    def steps(self, run: Run) -> list[Step]:
        return order_steps(run, self.inputs_of, self.producers_of)


class _Reader:
    """Placeholder style and id lists for one dialect (PostgreSQL: one array parameter per list)."""

    def __init__(self, cursor: Any, postgres: bool) -> None:
        self.cursor, self.postgres = cursor, postgres
        self.p = "%s" if postgres else "?"

    def chunks(self, ids: Sequence[int]) -> list[Sequence[int]]:
        size = 20_000 if self.postgres else _CHUNK
        return [ids[i : i + size] for i in range(0, len(ids), size)]

    def among(self, chunk: Sequence[int]) -> tuple[str, tuple[Any, ...]]:
        if self.postgres:
            return "= ANY(%s::bigint[])", ("{" + ",".join(str(int(i)) for i in chunk) + "}",)
        return f"IN ({','.join('?' * len(chunk))})", tuple(int(i) for i in chunk)

    def rows(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        self.cursor.execute(sql, params)
        return list(self.cursor.fetchall())


def run_node(cursor: Any, postgres: bool, run_id: str) -> int | None:
    """The graph node of a run, None when the store has no such run."""
    reader = _Reader(cursor, postgres)
    found = reader.rows(f"SELECT node_id FROM runs WHERE id = {reader.p}", (run_id,))
    return int(found[0][0]) if found else None


def read_ancestry(cursor: Any, postgres: bool, run_id: str) -> Ancestry | None:
    """``run_id``'s whole ancestry (see the module docstring); None when the run is not in the store or its
    ancestry is larger than ``WALK_MAX_NODES`` nodes (the caller then walks it run by run)."""
    from ..stores.records import RecordReader

    reader = _Reader(cursor, postgres)
    node = run_node(cursor, postgres, run_id)
    if node is None:
        return None
    reach = (
        f"WITH RECURSIVE reach(n) AS (SELECT CAST({reader.p} AS INTEGER) UNION SELECT e.parent FROM edges e "
        f"JOIN reach r ON e.child = r.n) SELECT n FROM reach LIMIT {WALK_MAX_NODES + 1}"
    )
    ids = [int(r[0]) for r in reader.rows(reach, (node,))]
    if len(ids) > WALK_MAX_NODES:
        return None
    linked: list[tuple[int, int, int, str, str]] = []  # (created_seq, parent, child, type, role)
    started: dict[int, int] = {}
    for chunk in reader.chunks(ids):
        among, params = reader.among(chunk)
        edges = (
            f"SELECT created_seq, parent, child, type, role FROM edges WHERE child {among} "
            "AND type IN ('USED', 'PRODUCED')"
        )
        linked += [(int(r[0]), int(r[1]), int(r[2]), r[3], r[4]) for r in reader.rows(edges, params)]
        runs = f"SELECT node_id, created_seq FROM runs WHERE node_id {among}"
        started.update((int(r[0]), int(r[1])) for r in reader.rows(runs, params))
    linked.sort(key=lambda e: e[:3])  # the order they were recorded in: created_seq, then parent, then child
    described = sorted({e[1] for e in linked} | {e[2] for e in linked})
    records = RecordReader(cursor, postgres).node_records(reader.chunks(described), None)
    found = Ancestry()
    for _seq, parent, child, kind, role in linked:
        p, c = records.get(parent), records.get(child)
        if kind == "USED" and isinstance(p, Artifact) and isinstance(c, Run):
            found.inputs.setdefault(c.id, []).append((p, role))
        elif kind == "PRODUCED" and isinstance(p, Run) and isinstance(c, Artifact):
            found.producers.setdefault(str(c.digest), {})[p.id] = (started.get(parent, 0), p)
    return found
