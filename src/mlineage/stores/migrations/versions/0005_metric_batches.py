"""Metric values stored a batch per row: one row per run, key and MetricsLogged event instead of one per value
(packed as ``stores/metric_codec.py`` describes).

Existing values move over in the order the old table returned them (by event, then step). The old table goes.

Revision ID: 0005
Revises: 0004
"""

from itertools import groupby

import sqlalchemy as sa
from alembic import op

from mlineage.stores.metric_codec import pack_steps, pack_timestamps, pack_values

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COPY_ROWS = 50_000


def upgrade() -> None:
    op.create_table(
        "metric_batches",
        sa.Column("run_id", sa.String(128), nullable=False),
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("steps", sa.LargeBinary, nullable=False),
        sa.Column("metric_values", sa.LargeBinary, nullable=False),
        sa.Column("timestamps", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "key", "seq"),
    )
    _copy_values()
    op.drop_index("ix_metrics_run_key", table_name="metrics")
    op.drop_table("metrics")


def _copy_values() -> None:
    """Group the old rows by (run, key, event) in one ordered pass, inserting as it goes."""
    conn = op.get_bind()
    batches = sa.table("metric_batches", *(sa.column(c) for c in (
        "run_id", "key", "seq", "steps", "metric_values", "timestamps")))
    query = sa.text("SELECT run_id, key, seq, step, value, ts FROM metrics ORDER BY run_id, key, seq, step")
    rows = conn.execute(query.execution_options(stream_results=True, yield_per=_COPY_ROWS))
    pending: list[dict[str, object]] = []
    for (run_id, key, seq), group in groupby(rows, key=lambda r: (r[0], r[1], r[2])):
        values = list(group)
        pending.append({"run_id": run_id, "key": key, "seq": seq,
                        "steps": pack_steps([int(r[3]) for r in values]),
                        "metric_values": pack_values([float(r[4]) for r in values]),
                        "timestamps": pack_timestamps([str(r[5]) for r in values])})
        if len(pending) >= 1000:
            conn.execute(batches.insert(), pending)
            pending = []
    if pending:
        conn.execute(batches.insert(), pending)


def downgrade() -> None:
    raise NotImplementedError("the ledger is never downgraded: restore from a backup or export instead")
