"""The narrow interface every metadata backend implements.

Writes go through ``append`` only (the ledger is the single way in); everything else reads projections.
The graph layer needs just the graph-access group (``node_id``, ``adjacent``, ``describe``, ``graph_columns``,
``seq_at``, ``reachable``, and for output ``node_records`` / ``edges_among``): the in-memory engine in
``mlineage.graph`` loads its snapshot through ``graph_columns`` and falls back to ``reachable`` (one recursive
CTE) when it is not loaded. What a backend can and cannot do is stated in its ``capabilities``, never found by
probing for methods; a store whose queries run elsewhere (a server) hands out a ``query_service``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from ..model import Artifact, NamedVersion, NodeRef, Run

if TYPE_CHECKING:  # the events and the ledger load the event catalogue: a reader of records needs neither
    from ..events import NewEvent, StoredEvent
    from ..graph.service import QueryService
    from ..ledger import VerifyReport

Direction = Literal["up", "down"]


@dataclass(frozen=True, slots=True)
class AdjacentEdge:
    """An edge found while walking: ``source`` is the node we came from, ``target`` the one reached."""

    source: int
    target: int
    type: str
    role: str
    seq: int


@dataclass(frozen=True, slots=True)
class GraphColumns:
    """Edges (parallel columns) and nodes (id, kind: an artifact kind or ``run``) created in a seq range."""

    parent: list[int]
    child: list[int]
    seq: list[int]
    node_ids: list[int]
    node_kinds: list[str]
    last_node: tuple[int, str] | None = None  # (id, key) of the newest node up to the range's end


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend can do, so callers choose a path by asking rather than by ``hasattr``."""

    graph_access: bool = True  # the graph-access group works here (False: queries go to ``query_service``)
    as_of_records: bool = (
        True  # ``node_records`` describes nodes as they stood at a seq (else: as they are now)
    )
    dedicated_head: bool = False  # ``graph_head`` answers on a connection of its own (cheaper per query)
    read_ledger: bool = True  # ``iter_events`` may read the raw ledger (a namespaced view may not)
    writable: bool = True  # ``append`` is accepted here


@runtime_checkable
class MetadataStore(Protocol):
    uri: str
    capabilities: Capabilities

    # --- the ledger
    def append(self, events: Sequence[NewEvent]) -> list[StoredEvent]: ...
    def head(self) -> tuple[int, str]: ...
    def iter_events(self, after_seq: int = 0, batch: int = 5000) -> Iterator[StoredEvent]: ...
    def verify(self) -> VerifyReport: ...
    def rebuild(self, upto_seq: int | None = None) -> int: ...

    # --- projections
    def get_artifact(self, digest: str) -> Artifact | None: ...
    def has_children(self, digest: str) -> bool: ...
    def get_run(self, run_id: str) -> Run | None: ...
    def find_artifacts(self, digest_prefix: str, limit: int = 50) -> list[Artifact]: ...
    def find_runs(self, id_prefix: str, limit: int = 50) -> list[Run]: ...
    def find_names(self, prefix: str, limit: int = 50) -> list[str]: ...
    def get_version(self, name: str, version: int | None = None) -> Artifact | None: ...
    def list_runs(self, limit: int = 50, job: str | None = None, status: str | None = None) -> list[Run]: ...
    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float, str]]: ...
    def io_of_run(self, run_id: str) -> tuple[list[tuple[Artifact, str]], list[tuple[Artifact, str]]]: ...
    def producers_of(self, digest: str) -> list[Run]: ...
    def consumers_of(self, digest: str) -> list[Run]: ...
    def list_versions(self, name: str) -> list[NamedVersion]: ...
    def last_seen(self, run_id: str) -> str | None: ...
    def counts(self) -> dict[str, int]: ...

    # --- graph access
    def node_id(self, ref: NodeRef, *, newest: bool = False, as_of_seq: int | None = None) -> int | None: ...
    def adjacent(self, node_ids: Sequence[int], direction: Direction, as_of_seq: int | None = None
                 ) -> list[AdjacentEdge]: ...
    def describe(self, node_ids: Sequence[int]) -> dict[int, Artifact | Run]: ...
    def graph_columns(self, after_seq: int, upto_seq: int) -> GraphColumns: ...
    def graph_state(self, node_key: str | None) -> tuple[int, int | None]: ...
    def edge_count_estimate(self) -> int: ...
    def node_created_seq(self, node_id: int) -> int | None: ...
    def seq_at(self, ts: str) -> int: ...
    def reachable(self, node_id: int, direction: Direction, as_of_seq: int | None = None,
                  cap: int | None = None) -> list[int]: ...
    def node_records(self, node_ids: Sequence[int], as_of_seq: int | None = None
                     ) -> dict[int, Artifact | Run]: ...  # ``describe`` for output, as of a seq if it can
    def edges_among(self, node_ids: Sequence[int], direction: Direction, as_of_seq: int | None = None
                    ) -> list[tuple[int, int, str, str]]: ...  # induced edges as (source, target, type, role)
    def graph_head(self, node_key: str | None) -> tuple[int, int | None]: ...  # ``graph_state``, per query

    # --- where lineage queries run: None here (the graph engine over this store), or a server's service
    def query_service(self) -> QueryService | None: ...

    def close(self) -> None: ...
