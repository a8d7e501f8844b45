"""Projections: registered handlers that fold ledger events into tables they own.

Each projection is a ``Projection`` subclass with a ``name``, the ``tables`` it owns (dropped, recreated and
refilled by ``rebuild``) and a handler per event type it folds. An event type's spec (``catalogue.py``) names
the projections that fold it, in order; the ``Projector`` (``stores/projector.py``) looks the handlers up
once per writer, so dispatching an event costs one dict lookup. Live appends and ``rebuild`` run the same
handlers, which is what makes the two produce identical tables.

The built-in projections, in the order they are registered (and so the order rebuild creates tables):

* ``graph`` (``graph.py``): nodes, edges and occurrences (identical content made again downstream of itself
  gets a node of its own), with the write-time cycle check;
* ``artifacts`` (``artifacts.py``): artifacts and their name/version labels;
* ``runs`` (``runs.py``): runs, their params, latest metrics and status; also ``fold_runs``, the pure fold
  of run events into ``Run`` records that as-of reads reuse;
* ``metrics`` (``metrics.py``): every metric value, packed a batch per row;
* ``namespaces`` (``namespaces.py``): which namespace each created key belongs to (the server's index);
* ``erasures`` (``erasures.py``): no tables; refuses an erasure event that names no earlier event exactly.

A feature registers its own with ``register_projection``; its tables are created when a ``SqlStore`` opens
the database (see ``Projection.schema``).
"""

from __future__ import annotations

from typing import Any

from .base import Handler, Projection, Writer

PROJECTIONS: dict[str, type[Projection]] = {}
"""The registered projections by name, in registration order (the order ``rebuild`` creates their tables)."""


def _changed() -> None:
    # imported here: the catalogue loads the built-in features, whose projections import this package
    from ...catalogue import changed

    changed()


def register_projection(cls: type[Projection]) -> type[Projection]:
    """Register a projection class (usable as a decorator). Registering it again is harmless."""
    known = PROJECTIONS.get(cls.name)
    if known is not None and known is not cls:
        raise ValueError(f"a projection named {cls.name!r} is already registered; pick another name")
    PROJECTIONS[cls.name] = cls
    _changed()
    return cls


def unregister_projection(name: str) -> None:
    """Remove a projection (for tests that declare one of their own)."""
    PROJECTIONS.pop(name, None)
    _changed()


def table_names() -> list[str]:
    """Every table the registered projections own, in creation order."""
    return [table for cls in PROJECTIONS.values() for table in cls.tables]


def projection_tables() -> list[Any]:
    """The SQLAlchemy tables of every registered projection, in creation order (imports SQLAlchemy)."""
    return [table for cls in PROJECTIONS.values() for table in cls.schema()]


__all__ = [
    "PROJECTIONS",
    "Handler",
    "Projection",
    "Writer",
    "projection_tables",
    "register_projection",
    "table_names",
    "unregister_projection",
]

from . import artifacts, erasures, graph, metrics, namespaces, runs

for _cls in (graph.GraphProjection, artifacts.ArtifactsProjection, runs.RunsProjection,
             metrics.MetricsProjection, namespaces.NamespacesProjection, erasures.ErasuresProjection):
    register_projection(_cls)
