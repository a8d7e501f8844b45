"""``events.recorded_at``: when the store wrote each event, the time ``--as-of`` orders by.

An event's ``ts`` is its writer's claim (hashed into the chain, kept as written); a client with a wrong clock
must not move where its events fall in time travel. Not part of the hash: it is the store's own record, set
by the writer holding the ledger lock. Events written before this column existed keep NULL, and time travel
falls back to their ``ts`` (the append-only triggers forbid filling it in).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("events", sa.Column("recorded_at", sa.String(40)))
    op.create_index("ix_events_recorded_at", "events", ["recorded_at"])


def downgrade() -> None:
    op.drop_index("ix_events_recorded_at", table_name="events")
    op.drop_column("events", "recorded_at")
