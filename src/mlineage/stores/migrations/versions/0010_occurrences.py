"""``occurrences``: a digest's second and later graph nodes.

Content produced again downstream of itself (a dedupe that changed nothing, a revert to earlier bytes, a
format round trip) used to be refused as a cycle. The graph projection now gives such content a new node, an
*occurrence*, joined to the digest's earlier ones by SAME_CONTENT edges (docs/architecture.md). No existing
row changes: a store written before this revision had no such content (it was refused), so the new table
starts empty and a rebuild gives the same tables.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "occurrences",
        sa.Column("node_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.Column("created_seq", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("digest", "ordinal", name="uq_occurrences_digest_ordinal"),
    )


def downgrade() -> None:
    op.drop_table("occurrences")
