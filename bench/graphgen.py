"""Synthetic lineage graphs for the graph benchmark and the scale tests.

Generating a million nodes through a million ledger appends would take hours and measure the writer, not the
queries, so the generator bulk-inserts rows straight into the projection tables (nodes, artifacts, edges) with
the driver's fast paths (``executemany`` on SQLite, ``COPY`` on PostgreSQL). Such a store is for queries
only: its projections are not backed by ledger events, so ``rebuild`` would drop them.

Shapes (node ids are assigned in generation order, so "earlier" means "smaller id"):

* ``random_dag(n)``: node i > 0 has 1-3 parents drawn uniformly among nodes 0..i-1 (~2 edges per node);
* ``chain(n)``: node i's only parent is node i-1;
* ``fan_out(n)``: node 0 is the parent of nodes 1..n-1.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from mlineage import events as ev
from mlineage.events import NewEvent
from mlineage.stores.sql import SqlStore

TS = "2026-01-01T00:00:00.000000Z"


@dataclass
class Shape:
    """A generated graph: edges as (parent, child) index arrays over ``n`` nodes numbered 0..n-1."""

    n: int
    parent: np.ndarray
    child: np.ndarray


def random_dag(n: int, seed: int = 7) -> Shape:
    rng = np.random.default_rng(seed)
    per_node = rng.integers(1, 4, n)
    per_node[0] = 0
    child = np.repeat(np.arange(n, dtype=np.int64), per_node)
    parent = (rng.random(len(child)) * child).astype(np.int64)
    pairs = np.unique(np.stack([parent, child], axis=1), axis=0)  # two draws of the same parent: one edge
    return Shape(n, pairs[:, 0], pairs[:, 1])


def chain(n: int) -> Shape:
    return Shape(n, np.arange(n - 1, dtype=np.int64), np.arange(1, n, dtype=np.int64))


def fan_out(n: int) -> Shape:
    return Shape(n, np.zeros(n - 1, np.int64), np.arange(1, n, dtype=np.int64))


def digest_of(tag: str, index: int) -> str:
    """A deterministic, valid sha256 digest text for node ``index`` of the graph tagged ``tag``."""
    import hashlib

    return "sha256:" + hashlib.sha256(f"{tag}:{index}".encode()).hexdigest()


def insert(store: SqlStore, shape: Shape, tag: str, kind: str = "dataset") -> int:
    """Bulk-insert ``shape`` as artifacts of ``kind`` joined by DERIVED_FROM edges; returns the node id of
    index 0 (index i has node id ``first + i``)."""
    if store.head()[0] == 0:  # a real first event, so the ledger head (the snapshot's clock) is past 0
        store.append([NewEvent(ev.ARTIFACT_RECORDED, {"digest": digest_of("genesis", 0), "kind": "other"})])
    seq = store.head()[0]
    with store.engine.begin() as conn:
        first = int(conn.exec_driver_sql("SELECT COALESCE(MAX(id), 0) FROM nodes").scalar_one()) + 1
    ids = np.arange(first, first + shape.n, dtype=np.int64)
    digests = [digest_of(tag, i) for i in range(shape.n)]
    node_rows = [(int(i), "artifact", d, seq) for i, d in zip(ids.tolist(), digests, strict=True)]
    artifact_rows = [(d, int(i), kind, 1, "{}", seq, TS) for i, d in zip(ids.tolist(), digests, strict=True)]
    edge_rows = list(zip((shape.parent + first).tolist(), (shape.child + first).tolist(), strict=True))
    if store.dialect == "postgresql":
        _copy_pg(store, node_rows, artifact_rows, edge_rows, seq)
    else:
        with store.engine.begin() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            cur = raw.cursor()
            cur.executemany("INSERT INTO nodes (id, kind, key, created_seq) VALUES (?, ?, ?, ?)", node_rows)
            cur.executemany(
                "INSERT INTO artifacts (digest, node_id, kind, size, metadata, created_seq, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                artifact_rows,
            )
            cur.executemany("INSERT INTO edges (parent, child, type, role, created_seq) VALUES "
                            f"(?, ?, 'DERIVED_FROM', '', {int(seq)})", edge_rows)
    store.forget_cached_state()  # rows went in behind the ledger: the writer's caches no longer hold
    return first


def _copy_pg(store: SqlStore, node_rows: list[tuple[object, ...]], artifact_rows: list[tuple[object, ...]],
             edge_rows: list[tuple[int, int]], seq: int) -> None:
    def tsv(rows: list[tuple[object, ...]]) -> bytes:
        buf = io.StringIO()
        for row in rows:
            buf.write("\t".join(str(v) for v in row))
            buf.write("\n")
        return buf.getvalue().encode()

    with store.engine.begin() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        with raw.cursor() as cur:
            with cur.copy("COPY nodes (id, kind, key, created_seq) FROM STDIN") as copy:
                copy.write(tsv(node_rows))
            with cur.copy("COPY artifacts (digest, node_id, kind, size, metadata, created_seq, created_at) "
                          "FROM STDIN") as copy:
                copy.write(tsv(artifact_rows))
            with cur.copy("COPY edges (parent, child, type, role, created_seq) FROM STDIN") as copy:
                copy.write(tsv([(p, c, "DERIVED_FROM", "", seq) for p, c in edge_rows]))
            # keep the id sequence past the rows we placed, so later ledger appends get fresh ids
            cur.execute("SELECT setval(pg_get_serial_sequence('nodes', 'id'), (SELECT MAX(id) FROM nodes))")
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE nodes")
        conn.exec_driver_sql("ANALYZE edges")
        conn.exec_driver_sql("ANALYZE artifacts")
