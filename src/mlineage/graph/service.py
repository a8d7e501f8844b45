"""The query service: trace/impact, path, closure and lineage-diff behind one interface.

``LocalQueryService`` runs the graph engine over a metadata store (SQLite, PostgreSQL, a namespaced server
view); the remote client (``stores/remote/queries.py``) sends the same query to a server, which runs it
through a ``LocalQueryService`` of its own. Either way the caller gets the same result types and the same
exception classes, so user code cannot tell a server from a local store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..errors import ValidationError
from ..model import Artifact, Digest, Run
from .query import LineageQuery, LineageResult, node_ref

if TYPE_CHECKING:
    from ..stores.protocol import MetadataStore
    from .closure import Closure
    from .diff import LineageDiff
    from .engine import GraphEngine
    from .paths import PathResult

Ref = str | Artifact | Run
AsOf = str | int | None


@runtime_checkable
class QueryService(Protocol):
    """Lineage queries. Refs are text (digest or prefix, ``run:<id>``, ``name@version``) or records; ``as_of``
    is a ledger seq, ``seq:<n>`` or an ISO timestamp."""

    one_shot: bool  # this process answers one query and exits (the CLI): no snapshot worth building

    def lineage(self, ref: Ref | LineageQuery, direction: str = "up", *, depth: int | None = None,
                limit: int | None = None, kinds: Sequence[str] | None = None, as_of: AsOf = None
                ) -> LineageResult: ...

    def path(self, source: Ref, target: Ref, *, as_of: AsOf = None, max_paths: int = 20) -> PathResult: ...

    def closure(self, ref: Ref, *, as_of: AsOf = None) -> Closure: ...

    def lineage_diff(self, a: Ref, b: Ref, *, as_of: AsOf = None) -> LineageDiff: ...


class LocalQueryService:
    """Queries answered here, by the graph engine over ``store``; refs resolved by ``resolve``."""

    def __init__(self, store: MetadataStore, resolve: Callable[[str], Artifact | Run],
                 has_blob: Callable[[Digest], bool]) -> None:
        self.store = store
        self._resolve = resolve
        self._has_blob = has_blob
        self._engine: GraphEngine | None = None
        self._one_shot = False

    @property
    def engine(self) -> GraphEngine:
        """The lineage engine of the store: an in-memory snapshot, refreshed per query."""
        if self._engine is None:
            from .engine import GraphEngine

            self._engine = GraphEngine(self.store)
            self._engine.one_shot = self._one_shot
        return self._engine

    @property
    def one_shot(self) -> bool:
        return self._one_shot

    @one_shot.setter
    def one_shot(self, value: bool) -> None:
        self._one_shot = value
        if self._engine is not None:
            self._engine.one_shot = value

    def node(self, ref: Ref) -> Artifact | Run:
        return self._resolve(ref) if isinstance(ref, str) else ref

    def as_of_seq(self, as_of: AsOf) -> int | None:
        """``--as-of``: a ledger seq (int) as is, or a timestamp mapped to the last seq with ts <= T."""
        from .timetravel import as_of_seq

        return as_of_seq(self.store, as_of)

    def query(self, ref: Ref, direction: str = "up", *, depth: int | None = None, limit: int | None = None,
              kinds: Sequence[str] | None = None, as_of: AsOf = None) -> LineageQuery:
        """Build the one options object every lineage call takes (refs resolved, as-of mapped to a seq)."""
        node = self.node(ref)
        if direction not in ("up", "down"):
            raise ValidationError("direction", f"{direction!r} must be 'up' or 'down'")
        return LineageQuery(node_ref(node), direction, depth, limit,  # type: ignore[arg-type]
                            self.as_of_seq(as_of), frozenset(kinds) if kinds else None)

    def lineage(self, ref: Ref | LineageQuery, direction: str = "up", *, depth: int | None = None,
                limit: int | None = None, kinds: Sequence[str] | None = None, as_of: AsOf = None
                ) -> LineageResult:
        query = ref if isinstance(ref, LineageQuery) else self.query(
            ref, direction, depth=depth, limit=limit, kinds=kinds, as_of=as_of)
        return self.engine.walk(query)

    def path(self, source: Ref, target: Ref, *, as_of: AsOf = None, max_paths: int = 20) -> PathResult:
        from .paths import find_paths

        return find_paths(self.engine, self.node(source), self.node(target), self.as_of_seq(as_of), max_paths)

    def closure(self, ref: Ref, *, as_of: AsOf = None) -> Closure:
        from .closure import dependency_closure

        return dependency_closure(self.engine, self.node(ref), self._has_blob, self.as_of_seq(as_of))

    def lineage_diff(self, a: Ref, b: Ref, *, as_of: AsOf = None) -> LineageDiff:
        from .diff import diff_lineage

        return diff_lineage(self.engine, self.node(a), self.node(b), self.as_of_seq(as_of))
