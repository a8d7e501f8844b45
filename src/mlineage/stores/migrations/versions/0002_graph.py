"""Indexes for the lineage graph engine: incremental snapshot refresh by seq, and time travel by timestamp.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The in-memory graph snapshot refreshes itself with "edges/nodes created after seq S".
    op.create_index("ix_edges_created_seq", "edges", ["created_seq"])
    op.create_index("ix_nodes_created_seq", "nodes", ["created_seq"])
    # --as-of TIMESTAMP maps to the last seq with ts <= T.
    op.create_index("ix_events_ts", "events", ["ts"])


def downgrade() -> None:
    raise NotImplementedError("the ledger is never downgraded: restore from a backup or export instead")
