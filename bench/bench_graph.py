"""Lineage queries at scale: trace/impact on a 1M-node random DAG plus a 100k-step chain, on SQLite and
PostgreSQL, with scipy.sparse.csgraph BFS and the plain indexed recursive CTE measured in the same run.

The graph is bulk-inserted into the projection tables (see ``graphgen``) once and kept under bench/.work
(SQLite) or in a PostgreSQL schema, so later runs reuse it. ``MLINEAGE_BENCH_QUICK=1``: 50k nodes + 10k chain.

What is timed for mlineage is ``GraphEngine.walk`` with a warm snapshot: resolving the start node, the
freshness check against the ledger head (one SQL round trip), the BFS — and, in the "+ hop depths" rows,
hop depths for every node and the (depth, id) ordering. The scipy peer is ``breadth_first_order`` alone on a
CSR built from the same edges. The output rows add reading every node record and typed edge from the store
and rendering them (``to_dict``, or the CLI's streamed ``trace --json`` text).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench import graphgen
from bench.harness import Result, best_of, workdir
from mlineage.graph import GraphEngine, LineageQuery
from mlineage.graph.engine import CACHE_ENV
from mlineage.model import NodeKind, NodeRef
from mlineage.stores.sql import SqlStore

PG_URL = os.environ.get("MLINEAGE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass
class Setup:
    n: int
    chain: int
    shape: graphgen.Shape
    first_random: int  # node id of random-DAG index 0
    first_chain: int  # node id of chain index 0


# The write-time cycle check as it was before 2026-11-25 (walk down from the child until the parent turns up).
_OLD_CYCLE_CHECK = """
    WITH RECURSIVE reach(n) AS (
        SELECT CAST(:start AS INTEGER)
        UNION
        SELECT e.child FROM edges e JOIN reach r ON e.parent = r.n
    )
    SELECT 1 FROM reach WHERE n = :target LIMIT 1
"""


def _cycle_check(store: SqlStore, label: str, n: int) -> Result:
    """The write-time cycle check from the far end of the graph, in one batch: a run starts, produces the
    first random node and uses the deepest one. That use is a cycle no occurrence can undo (a run is one
    node), so the whole batch is refused, the store is unchanged and the append can be repeated. The check
    searches the same pair as it did for a DERIVED_FROM edge from the deepest node to node 0 (which now
    records a new occurrence of node 0's content instead: issue 14). The old check walked every descendant
    of node 0."""
    from sqlalchemy import text

    from mlineage import events as ev
    from mlineage.errors import CycleError
    from mlineage.events import NewEvent

    maker = "bench-maker-of-node-0"
    edge = [NewEvent(ev.RUN_STARTED, {"run_id": maker, "job": "bench", "kind": "ingest"}),
            NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": maker, "digest": graphgen.digest_of("rnd", 0)}),
            NewEvent(ev.ARTIFACT_USED, {"run_id": maker, "digest": graphgen.digest_of("rnd", n - 1)})]

    def append() -> None:
        try:
            store.append(edge)
        except CycleError:
            return
        raise AssertionError("the cycle was not refused")

    first = store.node_id(NodeRef(NodeKind.ARTIFACT, graphgen.digest_of("rnd", 0)))
    last = store.node_id(NodeRef(NodeKind.ARTIFACT, graphgen.digest_of("rnd", n - 1)))

    def old() -> None:
        with store.engine.connect() as conn:
            assert conn.execute(text(_OLD_CYCLE_CHECK), {"start": first, "target": last}).first() is not None

    ours = best_of(append, 3) * 1000
    peer = best_of(old, 1) * 1000
    return Result(f"{label}: append refused as a cycle (node 0's producer using the deepest node)", ours,
                  f"the old check: recursive CTE down from the child ({label})", peer, "ms", False,
                  "report (was 3.1 s on SQLite)", None)


def _sizes(quick: bool) -> tuple[int, int]:
    return (50_000, 10_000) if quick else (1_000_000, 100_000)


def _open(backend: str, n: int, chain: int) -> SqlStore:
    tag = f"g{n}_{chain}"
    if backend == "sqlite":
        return SqlStore(f"sqlite:///{workdir('graph') / (tag + '.db')}")
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "bench_{tag}"')
    return SqlStore(f"{PG_URL}?options=-csearch_path%3Dbench_{tag}")


def _prepare(store: SqlStore, n: int, chain: int) -> tuple[Setup, float | None]:
    shape = graphgen.random_dag(n)
    node = store.node_id(NodeRef(NodeKind.ARTIFACT, graphgen.digest_of("rnd", 0)))
    took = None
    if node is None:
        started = time.perf_counter()
        first_random = graphgen.insert(store, shape, "rnd")
        first_chain = graphgen.insert(store, graphgen.chain(chain), "chain")
        took = time.perf_counter() - started
    else:
        first_random = node
        found = store.node_id(NodeRef(NodeKind.ARTIFACT, graphgen.digest_of("chain", 0)))
        assert found is not None, "a half-built benchmark store: delete it and run again"
        first_chain = found
    return Setup(n, chain, shape, first_random, first_chain), took


def _peer_matrices(setup: Setup, total_nodes: int) -> tuple[Any, Any]:
    """scipy CSR matrices (down, up) over the same node ids, built independently of mlineage's snapshot."""
    from scipy.sparse import csr_matrix

    parent = np.concatenate([setup.shape.parent + setup.first_random,
                             np.arange(setup.chain - 1) + setup.first_chain])
    child = np.concatenate([setup.shape.child + setup.first_random,
                            np.arange(1, setup.chain) + setup.first_chain])
    ones = np.ones(len(parent))
    down = csr_matrix((ones, (parent, child)), shape=(total_nodes, total_nodes))
    up = csr_matrix((ones, (child, parent)), shape=(total_nodes, total_nodes))
    return down, up


def _pick(matrix: Any, candidates: list[int], wanted: int, at_most: bool = False) -> tuple[int, int]:
    """The candidate whose reachable set is closest to ``wanted`` nodes (not above it with ``at_most``)."""
    from scipy.sparse.csgraph import breadth_first_order

    sized = [(len(breadth_first_order(matrix, c, return_predecessors=False)) - 1, c) for c in candidates]
    if at_most and any(size <= wanted for size, _c in sized):
        sized = [(size, c) for size, c in sized if size <= wanted]
    best = min((abs(size - wanted), c) for size, c in sized)[1]
    return best, len(breadth_first_order(matrix, best, return_predecessors=False)) - 1


def _cli_json(result: Any) -> int:
    """What `mlineage trace --json` prints for ``result``, written into a buffer; returns its length."""
    import contextlib
    import io

    from mlineage.cli.lineage_output import emit_result_json

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        emit_result_json(result)
    return len(out.getvalue())


def _ref(tag: str, index: int) -> NodeRef:
    return NodeRef(NodeKind.ARTIFACT, graphgen.digest_of(tag, index))


def run(quick: bool) -> list[Result]:
    from scipy.sparse.csgraph import breadth_first_order

    n, chain = _sizes(quick)
    results: list[Result] = []
    for backend in ("sqlite", "postgresql"):
        store = _open(backend, n, chain)
        label = "SQLite" if backend == "sqlite" else "PostgreSQL"
        setup, generated = _prepare(store, n, chain)
        if generated is not None:
            print(f"  generated {n:,} + {chain:,}-chain nodes on {label} in {generated:.1f} s")
        cache = workdir("graph") / f"cache-{backend}"
        os.environ[CACHE_ENV] = "off"  # the cold load reads the edges table
        engine = GraphEngine(store, "memory")
        started = time.perf_counter()
        snap = engine.snapshot()
        cold = time.perf_counter() - started
        os.environ[CACHE_ENV] = str(cache)
        engine._to_cache(snap)
        down, up = _peer_matrices(setup, snap.n)
        rnd = setup.first_random
        early_10k, _ = _pick(
            down,
            [rnd + i for i in (n // 100, n // 50, n // 20, n // 10, n // 5, n // 3)],
            10_000,
            at_most=True,
        )
        early_200k, _ = _pick(down, [rnd + i for i in (5, 20, 50, 100, 200, 500, 1000, 2000, 5000)], 200_000)
        cases = [
            ("ancestors of the deepest random node", "up", _ref("rnd", n - 1), rnd + n - 1, up),
            ("descendants of a mid node", "down", _ref("rnd", early_10k - rnd), early_10k, down),
            ("descendants of an early node", "down", _ref("rnd", early_200k - rnd), early_200k, down),
            (
                f"ancestors up the {chain:,}-step chain",
                "up",
                _ref("chain", chain - 1),
                setup.first_chain + chain - 1,
                up,
            ),
        ]
        for title, direction, ref, node, matrix in cases:
            query = LineageQuery(ref, direction)  # type: ignore[arg-type]
            result = engine.walk(query)
            size = result.count
            ours = best_of(lambda q=query, e=engine: e.walk(q), 5) * 1000
            peer_order = breadth_first_order(matrix, node, return_predecessors=False)
            assert len(peer_order) - 1 == size, (title, len(peer_order) - 1, size)
            peer = (
                best_of(lambda m=matrix, v=node: breadth_first_order(m, v, return_predecessors=False), 5)
                * 1000
            )
            name = f"{label}: {title} ({size:,} nodes)"
            small = size <= 10_000
            goal = "< 100 ms (result <= 10k nodes)" if small else "within 3x of scipy BFS"
            met = ours < 100 if small else ours <= 3 * peer
            results.append(Result(name, ours, "scipy csgraph BFS (in memory)", peer, "ms", False, goal, met))
            full = best_of(lambda q=query, e=engine: e.walk(q).ids, 5) * 1000  # type: ignore[misc]
            results.append(
                Result(
                    f"{name} + hop depths + (depth, id) order",
                    full,
                    "scipy csgraph BFS (in memory)",
                    peer,
                    "ms",
                    False,
                    goal,
                    full < 100 if small else full <= 3 * peer,
                )
            )
            repeat = 1 if size > 50_000 else 3
            cte = best_of(lambda v=node, d=direction, s=store: s.reachable(v, d), repeat) * 1000  # type: ignore[misc]
            results.append(Result(name, ours, f"recursive CTE ({label})", cte, "ms", False,
                                  "report the gain over the CTE", None))
        results.append(_cycle_check(store, label, n))
        # end to end for a small result: the SDK call plus every node's record and every typed edge
        client_query = LineageQuery(_ref("rnd", n - 1), "up")
        e2e = best_of(lambda e=engine, q=client_query: e.walk(q).to_dict(), 5) * 1000
        results.append(
            Result(
                f"{label}: trace deepest node + JSON of all nodes/edges",
                e2e,
                "-",
                None,
                "ms",
                False,
                "< 100 ms for results up to 10k nodes",
                e2e < 100,
            )
        )
        cli_json = best_of(lambda e=engine, q=client_query: _cli_json(e.walk(q)), 5) * 1000
        results.append(
            Result(
                f"{label}: `trace --json` output of the deepest node (the CLI's streamed JSON text)",
                cli_json,
                "-",
                None,
                "ms",
                False,
                "< 100 ms for results up to 10k nodes",
                cli_json < 100,
            )
        )
        as_of = LineageQuery(_ref("rnd", n - 1), "up", as_of_seq=store.head()[0])
        then = best_of(lambda e=engine, q=as_of: e.walk(q).to_dict(), 5) * 1000
        results.append(
            Result(
                f"{label}: trace deepest node --as-of + JSON (records as of the seq)",
                then,
                "-",
                None,
                "ms",
                False,
                "< 100 ms for results up to 10k nodes",
                then < 100,
            )
        )
        results.append(Result(f"{label}: cold snapshot load ({snap.edge_count:,} edges, "
                              f"{snap.memory_bytes() / 2**20:.0f} MiB)", cold * 1000, "-", None, "ms", False,
                              "once per process", None))
        results.append(
            Result(
                f"{label}: freshness check (no new writes)",
                best_of(lambda e=engine: e.snapshot(), 5) * 1000,
                "-",
                None,
                "ms",
                False,
                "per query",
                None,
            )
        )
        deep = LineageQuery(_ref("rnd", n - 1), "up")
        warm = best_of(lambda s=store, q=deep: GraphEngine(s, "memory").walk(q).count, 3) * 1000
        results.append(
            Result(
                f"{label}: new process, first trace (snapshot from the on-disk cache)",
                warm,
                "-",
                None,
                "ms",
                False,
                "report",
                None,
            )
        )
        store.close()
    return results
