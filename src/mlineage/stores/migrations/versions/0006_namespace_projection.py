"""The namespace index becomes a projection, written in the same transaction as the events it indexes.

Until now the server caught the index up from a cursor of its own; events appended while no server ran (a
local CLI) were indexed only when one next started. This fills in whatever the index lacks, from the ledger,
and drops the cursor.

Revision ID: 0006
Revises: 0005
"""

import json
import re

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TAG = re.compile(r"\[ns:([^\]]+)\]$")
_OWNED = {"RunStarted": "run_id", "ArtifactRecorded": "digest"}  # the event types that created keys then


def upgrade() -> None:
    conn = op.get_bind()
    index = sa.table("server_namespace_objects", *(sa.column(c) for c in ("namespace", "key", "seq")))
    known = {
        (r[0], r[1]) for r in conn.execute(sa.text("SELECT namespace, key FROM server_namespace_objects"))
    }
    query = sa.text(
        "SELECT seq, type, actor, payload FROM events WHERE type IN ('RunStarted', 'ArtifactRecorded') "
        "AND payload IS NOT NULL ORDER BY seq"
    )
    pending: list[dict[str, object]] = []
    for seq, type_, actor, payload in conn.execute(
        query.execution_options(stream_results=True, yield_per=5000)
    ):
        match = _TAG.search(actor or "")
        key = (match.group(1) if match else "default", json.loads(payload)[_OWNED[type_]])
        if key not in known:
            known.add(key)
            pending.append({"namespace": key[0], "key": key[1], "seq": seq})
        if len(pending) >= 1000:
            conn.execute(index.insert(), pending)
            pending = []
    if pending:
        conn.execute(index.insert(), pending)
    op.execute(sa.text("DELETE FROM server_state WHERE key = 'namespace_index_seq'"))


def downgrade() -> None:
    op.execute(sa.text("INSERT INTO server_state (key, value) VALUES ('namespace_index_seq', '0')"))
