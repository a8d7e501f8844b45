"""``server_blob_grants``: a namespace reads a blob only after it proved it has the bytes.

Server state, like the tables of 0004: uploads are not ledger events, so ``rebuild`` leaves it alone. Blobs
stored before this revision had no record of who sent them; each recorded artifact is granted to the
namespace that recorded it first (the one that brought the bytes, in every deployment we know of), and
nothing else is granted: a later recorder, and the files of a directory, are readable again once that
namespace uploads them (the SDK and ``mlineage push`` do so on their next transfer), and by ``*`` tokens
meanwhile.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_blob_grants",
        sa.Column("namespace", sa.String(200), nullable=False),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("granted_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("namespace", "digest"),
    )
    op.execute(sa.text(
        "INSERT INTO server_blob_grants (namespace, digest, granted_at) "
        "SELECT o.namespace, o.key, 'migration 0009' FROM server_namespace_objects o "
        "WHERE o.key LIKE 'sha256:%' AND o.seq = "
        "(SELECT MIN(f.seq) FROM server_namespace_objects f WHERE f.key = o.key)"
    ))


def downgrade() -> None:
    op.drop_table("server_blob_grants")
