"""SQLAlchemy Core table definitions: the event log and the projections queries read.

The migrations in ``migrations/versions`` create these tables; ``tests/test_migrations.py`` checks that the
migrated schema and this module agree, so queries and migrations cannot drift apart.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

ledger_head = Table(
    "ledger_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("id", String(64), nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("v", Integer, nullable=False),
    Column("ts", String(40), nullable=False),
    Column("actor", Text),
    Column("payload", Text),
    Column("payload_sha256", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    Column("recorded_at", String(40)),  # when the store wrote it (not hashed): what --as-of orders by
    Index("ix_events_ts", "ts"),
    Index("ix_events_recorded_at", "recorded_at"),
)

# ---- projections: derived from events, dropped and replayed by rebuild

nodes = Table(
    "nodes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),
    Column("key", String(160), nullable=False, unique=True),
    Column("created_seq", BigInteger, nullable=False),
    Index("ix_nodes_created_seq", "created_seq"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("digest", String(80), primary_key=True),
    Column("node_id", Integer, nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("size", BigInteger),
    Column("name", Text),
    Column("version", Integer),
    Column("media_type", Text),
    Column("uri", Text),
    Column("metadata", Text, nullable=False),
    Column("created_seq", BigInteger, nullable=False),
    Column("created_at", String(40), nullable=False),
)

versions = Table(
    "versions",
    metadata,
    Column("name", String(400), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(80), nullable=False),
    Column("created_seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("name", "version"),
    UniqueConstraint("name", "digest", name="uq_versions_name_digest"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("node_id", Integer, nullable=False, unique=True),
    Column("job", Text, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("params", Text, nullable=False),
    Column("metrics", Text, nullable=False),
    Column("context", Text, nullable=False),
    Column("agent", Text),
    Column("error", Text),
    Column("started_at", String(40), nullable=False),
    Column("ended_at", String(40)),
    Column("created_seq", BigInteger, nullable=False),
    Column("updated_seq", BigInteger, nullable=False),
    Index("ix_runs_job", "job"),
)

metric_batches = Table(
    # One row per run, metric key and event: the values that one MetricsLogged event gave that key, in logging
    # order: steps and values packed as little-endian int64 and float64 arrays, timestamps as a JSON array
    # (see ``stores/metric_codec.py``). A row per value would cost every training step an index entry and a
    # row write; histories are read far less often than they are written (docs/benchmarks.md).
    "metric_batches",
    metadata,
    Column("run_id", String(128), nullable=False),
    Column("key", String(400), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("steps", LargeBinary, nullable=False),
    Column("metric_values", LargeBinary, nullable=False),
    Column("timestamps", Text, nullable=False),
    PrimaryKeyConstraint("run_id", "key", "seq"),
)

edges = Table(
    "edges",
    metadata,
    Column("parent", Integer, nullable=False),
    Column("child", Integer, nullable=False),
    Column("type", String(16), nullable=False),
    Column("role", String(200), nullable=False),
    Column("created_seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("parent", "child", "type", "role"),
    Index("ix_edges_child_parent", "child", "parent"),
    Index("ix_edges_created_seq", "created_seq"),
)

occurrences = Table(
    # A digest's second and later graph nodes (``stores/projections/graph.py``): content produced again
    # downstream of itself (a dedupe that changed nothing, a revert, a round trip) gets a node of its own, so
    # the graph stays a DAG. The first occurrence is ``artifacts.node_id`` and has no row here; the nodes of
    # one digest are joined, oldest to newest, by SAME_CONTENT edges.
    "occurrences",
    metadata,
    Column("node_id", Integer, primary_key=True, autoincrement=False),
    Column("digest", String(80), nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("created_seq", BigInteger, nullable=False),
    UniqueConstraint("digest", "ordinal", name="uq_occurrences_digest_ordinal"),
)

# The namespace index (stores/projections/namespaces.py): named for the server, which reads it.
server_namespace_objects = Table(
    "server_namespace_objects",
    metadata,
    Column("namespace", String(200), nullable=False),
    Column("key", String(160), nullable=False),
    Column("seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("namespace", "key"),
    Index("ix_server_namespace_objects_key", "key"),
)

LEDGER_TABLES = (ledger_head, events)
# The core projections' tables (stores/projections): dropped and replayed by rebuild.
PROJECTION_TABLES = (nodes, artifacts, versions, runs, metric_batches, edges, occurrences,
                     server_namespace_objects)

# ---- server state: access control and the ingestion queue. Not projections: rebuild keeps them.

server_tokens = Table(
    "server_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("secret_sha256", String(64), nullable=False, unique=True),
    Column("scopes", String(100), nullable=False),
    Column("namespace", String(200), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("revoked_at", String(40)),
)

server_inbox = Table(
    "server_inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("format", String(32), nullable=False),
    Column("namespace", String(200), nullable=False),
    Column("actor", Text),
    Column("body", Text, nullable=False),
    Column("received_at", String(40), nullable=False),
    Column("status", String(16), nullable=False),
    Column("error", Text),
    Column("processed_at", String(40)),
    Index("ix_server_inbox_status", "status", "id"),
)

server_state = Table(
    "server_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

server_checkpoints = Table(
    # The signed checkpoint log (``server/checkpoint_log.py``): one signed ledger head per row.
    "server_checkpoints",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("time", String(40), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature", String(200), nullable=False),
)

server_blob_grants = Table(
    # Which namespace may read which blob (``server/blob_grants.py``): written when the server has verified
    # bytes a namespace sent. Not a projection: uploads are not events, so rebuild keeps it.
    "server_blob_grants",
    metadata,
    Column("namespace", String(200), nullable=False),
    Column("digest", String(80), nullable=False),
    Column("granted_at", String(40), nullable=False),
    PrimaryKeyConstraint("namespace", "digest"),
)

SERVER_TABLES = (server_tokens, server_inbox, server_state, server_checkpoints, server_blob_grants)
