"""The event ledger (append-only, enforced by triggers) and the first projections.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = [
    """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'mlineage ledger is append-only: UPDATE on events refused'); END""",
    """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'mlineage ledger is append-only: DELETE on events refused'); END""",
    """CREATE TRIGGER ledger_head_forward BEFORE UPDATE ON ledger_head WHEN NEW.seq < OLD.seq
       BEGIN SELECT RAISE(ABORT, 'mlineage ledger head can only move forward'); END""",
    """CREATE TRIGGER ledger_head_no_delete BEFORE DELETE ON ledger_head
       BEGIN SELECT RAISE(ABORT, 'mlineage ledger head cannot be deleted'); END""",
]

_POSTGRES_TRIGGERS = [
    """CREATE FUNCTION mlineage_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'mlineage ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME; END
       $$ LANGUAGE plpgsql""",
    """CREATE FUNCTION mlineage_head_forward() RETURNS trigger AS $$
       BEGIN
         IF NEW.seq < OLD.seq THEN RAISE EXCEPTION 'mlineage ledger head can only move forward'; END IF;
         RETURN NEW;
       END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
       FOR EACH ROW EXECUTE FUNCTION mlineage_append_only()""",
    """CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
       FOR EACH STATEMENT EXECUTE FUNCTION mlineage_append_only()""",
    """CREATE TRIGGER ledger_head_forward BEFORE UPDATE ON ledger_head
       FOR EACH ROW EXECUTE FUNCTION mlineage_head_forward()""",
    """CREATE TRIGGER ledger_head_no_delete BEFORE DELETE ON ledger_head
       FOR EACH ROW EXECUTE FUNCTION mlineage_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("v", sa.Integer, nullable=False),
        sa.Column("ts", sa.String(40), nullable=False),
        sa.Column("actor", sa.Text),
        sa.Column("payload", sa.Text),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    op.execute(sa.text("INSERT INTO ledger_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')"))
    op.create_table(
        "nodes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(160), nullable=False, unique=True),
        sa.Column("created_seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "artifacts",
        sa.Column("digest", sa.String(80), primary_key=True),
        sa.Column("node_id", sa.Integer, nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("size", sa.BigInteger),
        sa.Column("name", sa.Text),
        sa.Column("version", sa.Integer),
        sa.Column("media_type", sa.Text),
        sa.Column("uri", sa.Text),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("created_seq", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "versions",
        sa.Column("name", sa.String(400), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("created_seq", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("name", "version"),
        sa.UniqueConstraint("name", "digest", name="uq_versions_name_digest"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("node_id", sa.Integer, nullable=False, unique=True),
        sa.Column("job", sa.Text, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("metrics", sa.Text, nullable=False),
        sa.Column("context", sa.Text, nullable=False),
        sa.Column("agent", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("started_at", sa.String(40), nullable=False),
        sa.Column("ended_at", sa.String(40)),
        sa.Column("created_seq", sa.BigInteger, nullable=False),
        sa.Column("updated_seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_runs_job", "runs", ["job"])
    op.create_table(
        "metrics",
        sa.Column("run_id", sa.String(128), nullable=False),
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("ts", sa.String(40), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_metrics_run_key", "metrics", ["run_id", "key"])
    op.create_table(
        "edges",
        sa.Column("parent", sa.Integer, nullable=False),
        sa.Column("child", sa.Integer, nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("role", sa.String(200), nullable=False),
        sa.Column("created_seq", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("parent", "child", "type", "role"),
    )
    op.create_index("ix_edges_child_parent", "edges", ["child", "parent"])
    triggers = _POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else _SQLITE_TRIGGERS
    for statement in triggers:
        op.execute(sa.text(statement))


def downgrade() -> None:
    raise NotImplementedError("the ledger is never downgraded: restore from a backup or export instead")
