"""The SQL store's reads for the graph layer that are not in the protocol: ``graph_head`` (the freshness
check on a connection of its own), ``node_records`` and ``edges_among`` (the driver's cursor)."""

from __future__ import annotations

from typing import Any

from mlineage import events as ev
from mlineage.events import NewEvent

from .helpers import digest


def test_graph_head_matches_graph_state_and_sees_new_writes(store: Any) -> None:
    assert store.graph_head(None) == store.graph_state(None)
    store.append([NewEvent(ev.ARTIFACT_RECORDED, {"digest": digest("gh", 0), "kind": "dataset"})])
    key = digest("gh", 0)
    assert store.graph_head(key) == store.graph_state(key) == (1, 1)
    own = store.__dict__.get("_graph_head")
    if own is not None:  # PostgreSQL: a dropped connection is replaced on the next call
        own["conn"].close()
    store.append([NewEvent(ev.ARTIFACT_RECORDED, {"digest": digest("gh", 1), "kind": "dataset"})])
    assert store.graph_head(key) == (2, 1)
    if (
        own is not None
    ):  # as seen from a forked child: the parent's session is set aside, neither used nor closed
        parents = own["conn"]
        own["pid"] = -1
        assert store.graph_head(key) == (2, 1)
        assert own["inherited"] == [parents] and not parents.closed and own["conn"] is not parents
        parents.close()


def test_edges_among_is_the_induced_subgraph(store: Any) -> None:
    a, b, c = (digest("ea", i) for i in range(3))
    store.append([NewEvent(ev.ARTIFACT_RECORDED, {"digest": d, "kind": "dataset"}) for d in (a, b, c)]
                 + [NewEvent(ev.ARTIFACT_DERIVED, {"parent": a, "child": b, "role": "r"}),
                    NewEvent(ev.ARTIFACT_DERIVED, {"parent": b, "child": c})])
    found = set(store.edges_among([2, 3], "up"))
    assert found == {(3, 2, "DERIVED_FROM", "")}  # 2 -> 1 leaves the set
    everything = {(s, t, r) for s, t, _type, r in store.edges_among([1, 2, 3], "down")}
    assert everything == {(1, 2, "r"), (2, 3, "")}
    assert {(s, t) for s, t, _type, _r in store.edges_among([1, 2, 3], "down", 4)} == {(1, 2)}
