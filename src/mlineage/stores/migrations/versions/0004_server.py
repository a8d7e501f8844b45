"""Server state: hashed API tokens, namespace membership, the accepted-event queue.

These tables are not projections of the ledger (``rebuild`` leaves them alone): tokens are credentials, the
inbox holds accepted events before they are projected, and namespace membership is an index over the ledger
that the server maintains from each event's actor tag.

Revision ID: 0004
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("scopes", sa.String(100), nullable=False),
        sa.Column("namespace", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("revoked_at", sa.String(40)),
    )
    op.create_table(
        "server_namespace_objects",
        sa.Column("namespace", sa.String(200), nullable=False),
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("namespace", "key"),
    )
    op.create_index("ix_server_namespace_objects_key", "server_namespace_objects", ["key"])
    op.create_table(
        "server_inbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("namespace", sa.String(200), nullable=False),
        sa.Column("actor", sa.Text),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("processed_at", sa.String(40)),
    )
    op.create_index("ix_server_inbox_status", "server_inbox", ["status", "id"])
    op.create_table(
        "server_state",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.execute(sa.text("INSERT INTO server_state (key, value) VALUES ('namespace_index_seq', '0')"))


def downgrade() -> None:
    op.drop_table("server_state")
    op.drop_table("server_inbox")
    op.drop_index("ix_server_namespace_objects_key", "server_namespace_objects")
    op.drop_table("server_namespace_objects")
    op.drop_table("server_tokens")
