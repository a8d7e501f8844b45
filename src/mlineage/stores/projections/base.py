"""The base class of projections and the writer interface they use."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from sqlalchemy import Table

    from ...catalogue import EventSpec
    from ...events import StoredEvent

# No runtime imports of the event modules: the catalogue loads features whose projections import this one.
Handler = Callable[["StoredEvent", dict[str, Any]], None]


class Writer(Protocol):
    """What a projection gets from the ``Projector``: the writer's transaction, the other projections, and
    statements written once with ``:name`` parameters (translated for PostgreSQL)."""

    postgres: bool
    cursor: Any  # the DB-API cursor for writes (executemany with the driver's own placeholders)
    reader: Any  # a second cursor for reads (in pipeline mode, results are per cursor)

    def execute(self, sql: str, params: dict[str, Any]) -> Any: ...
    def one(self, sql: str, params: dict[str, Any]) -> Any: ...
    def projection(self, name: str) -> Any: ...
    def redispatch(self) -> None: ...


class Projection:
    """A fold of some event types into tables this projection alone writes.

    One instance lives as long as its ``Projector``: inside one write transaction, or across several while
    nobody else writes (``SqliteLedger``), so caches on it describe the database as this writer left it."""

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]] = ()
    follows_all: ClassVar[bool] = False
    """True for a projection that decides from each spec whether it folds it (``handler``), rather than
    being named by the specs (the namespace index follows every event that creates keys)."""

    active: bool = True
    """Whether this database keeps this projection's tables (the namespace index is kept only where a
    server reads it); ``verify --projections`` compares only the tables of active projections."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer

    def start_batch(self) -> None:
        """Called before each appended batch (not during a replay), for a projection whose behaviour depends
        on state another writer may change between batches."""

    def handlers(self) -> dict[str, Handler]:
        """Event type → bound method, for the event types whose specs name this projection."""
        return {}

    def handler(self, spec: EventSpec) -> Handler | None:
        return self.handlers().get(spec.name)

    def cached(self) -> int:
        """How many entries this projection caches (the writer starts afresh past a bound)."""
        return 0

    @classmethod
    def schema(cls) -> Sequence[Table]:
        """The SQLAlchemy tables behind ``tables`` (imported only by code that creates or drops tables: the
        write path runs without SQLAlchemy). Core tables live in ``stores/schema.py``, created by its
        migrations; a feature's projection returns tables of its own ``MetaData``, created on open."""
        from ..schema import metadata

        return [metadata.tables[name] for name in cls.tables]
