"""Node records and typed edges for query output, read in bulk and as of the query's ledger seq.

Every store with graph access answers through ``node_records`` / ``edges_among`` (a SQL store through the
driver's cursor; see ``stores/records.py`` for how a node is described as it stood at a seq). A store whose
``capabilities.as_of_records`` is False describes nodes as they are now, and a query with ``--as-of`` on it
says so in its ``truncated`` list rather than pass current records off as historical ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..model import Artifact, Run

if TYPE_CHECKING:
    from ..stores.protocol import Direction, MetadataStore


def describes_as_of(store: MetadataStore) -> bool:
    return store.capabilities.as_of_records


def as_of_note(store: MetadataStore, as_of_seq: int | None) -> str | None:
    """The caveat a result carries when its store cannot describe nodes as of the query's seq."""
    if as_of_seq is None or describes_as_of(store):
        return None
    return (f"node records are shown as they are now: this store cannot describe them as of seq {as_of_seq} "
            "(the edges are as of that seq)")


def describe(store: MetadataStore, node_ids: Sequence[int], as_of_seq: int | None = None
             ) -> dict[int, Artifact | Run]:
    return store.node_records(node_ids, as_of_seq)


def induced_edges(store: MetadataStore, node_ids: Sequence[int], direction: Direction,
                  as_of_seq: int | None = None) -> list[tuple[int, int, str, str]]:
    """The edges walked in ``direction`` from a node of ``node_ids`` to another node of ``node_ids``, as
    (source, target, type, role): source is the node walked from (the child when walking up)."""
    return store.edges_among(node_ids, direction, as_of_seq)
