"""Nested runs: a run started inside another (a sweep and its trials) records a link to its parent.

One event type, ``RunNested`` (the child's id and its parent's), and one projection that keeps the link in
its own table and draws a ``CONTAINS`` edge from the parent run to the child in the lineage graph. The edge
points the way lineage flows, so ``trace`` of a trial's model reaches the sweep and the inputs the sweep used;
``impact`` of the sweep's data reaches every trial. The SDK records the link when ``mlineage.run`` opens
inside an open run; the child's context also names its parent (``parent_run_id``) for listings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .catalogue import EventSpec, register_edge_type, register_event
from .errors import ValidationError
from .stores.projections import Projection, register_projection

if TYPE_CHECKING:
    from sqlalchemy import Table

    from .events import StoredEvent

RUN_NESTED = "RunNested"
CONTAINS = register_edge_type("CONTAINS")


def _validate(p: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key in ("run_id", "parent_run_id"):
        value = p.get(key)
        if not isinstance(value, str) or not value or len(value) > 128:
            raise ValidationError(key, "must be a run id (a non-empty string of at most 128 characters)")
        out[key] = value
    if out["run_id"] == out["parent_run_id"]:
        raise ValidationError("parent_run_id", "a run cannot be nested in itself")
    return out


RUN_NESTED_SPEC = register_event(EventSpec(
    RUN_NESTED, _validate, references=lambda p: (("run", p["run_id"]), ("run", p["parent_run_id"])),
    projections=("run_parents",)))


def _table() -> Table:
    from sqlalchemy import BigInteger, Column, MetaData, String, Table

    return Table("run_parents", MetaData(), Column("run_id", String(128), primary_key=True),
                 Column("parent_id", String(128), nullable=False), Column("seq", BigInteger, nullable=False))


class RunParentsProjection(Projection):
    """Owns ``run_parents`` (child run id -> parent run id) and adds the parent -> child ``CONTAINS`` edge."""

    name = "run_parents"
    tables = ("run_parents",)

    @classmethod
    def schema(cls) -> Sequence[Table]:
        return [_table()]

    def handlers(self) -> dict[str, Any]:
        return {RUN_NESTED: self._run_nested}

    def _run_nested(self, e: StoredEvent, p: dict[str, Any]) -> None:
        runs = self.writer.projection("runs")
        child, parent = runs.state(p["run_id"]), runs.state(p["parent_run_id"])
        if self.writer.one("SELECT 1 FROM run_parents WHERE run_id = :id", {"id": p["run_id"]}):
            raise ValidationError("run_id", f"run {p['run_id']} already has a parent")
        self.writer.projection("graph").edge(parent.node_id, child.node_id, CONTAINS, None, e.seq)
        self.writer.execute("INSERT INTO run_parents (run_id, parent_id, seq) VALUES (:r, :p, :s)",
                            {"r": p["run_id"], "p": p["parent_run_id"], "s": e.seq})


register_projection(RunParentsProjection)
