"""Audits that go beyond the hash chain: a rebuild that refuses a broken ledger, and (``verify
--projections``) a comparison of the live projection tables with a fresh replay of the ledger.

A rebuild trusts every event it replays: run over a ledger whose payload was altered it would copy the forgery
into the tables a user reads, and report success. So it verifies the chain first and refuses when it is
broken; ``allow_broken`` replays only the events before the first bad one, and says where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import IntegrityError


@dataclass(frozen=True, slots=True)
class RebuildOutcome:
    replayed: int
    stopped_at: int | None = None  # the first bad event, when allow_broken stopped before it
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"replayed": self.replayed, "stopped_at": self.stopped_at, "problem": self.problem}


def rebuild(store: Any, *, allow_broken: bool = False) -> RebuildOutcome:
    """Verify the ledger, then rebuild the projections from it (see the module docstring)."""
    if not hasattr(store, "engine"):  # a server: it verifies its own ledger before it rebuilds
        return RebuildOutcome(store.rebuild())
    report = store.verify()
    if report.ok:
        return RebuildOutcome(store.rebuild())
    bad = report.first_bad_seq or report.head_seq + 1
    where = f"event {bad}" + (f" (id {report.first_bad_id})" if report.first_bad_id else "")
    if not allow_broken:
        raise IntegrityError(
            f"rebuild refused: the ledger does not verify at {where}: {report.problem}. Replaying it would "
            "copy "
            f"the damage into the projections; restore the database from a backup, or run `mlineage rebuild "
            f"--allow-broken` to rebuild from the {bad - 1} event(s) before it"
        )
    return RebuildOutcome(store.rebuild(upto_seq=bad - 1), bad, report.problem)


# ---------------------------------------------------------------- verify --projections

# How each projection table's rows are named in a report, and ordered to find the first difference.
_ROW_KEYS: dict[str, tuple[str, ...]] = {
    "nodes": ("id",), "artifacts": ("digest",), "versions": ("name", "version"), "runs": ("id",),
    "metric_batches": ("run_id", "key", "seq"), "edges": ("parent", "child", "type", "role"),
    "server_namespace_objects": ("namespace", "key"),
}


@dataclass(frozen=True, slots=True)
class ProjectionReport:
    """The live projection tables compared with a replay of the ledger into scratch tables."""

    ok: bool
    events: int  # replayed, up to the head the comparison saw
    rows: int  # live projection rows compared
    table: str | None = None
    row: dict[str, Any] | None = None  # the first differing row's key
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "rows": self.rows, "table": self.table, "row": self.row,
                "problem": self.problem}


def compare_projections(store: Any) -> ProjectionReport:
    """Replay the ledger into temporary tables (the session's scratch schema: SQLite's ``temp``, PostgreSQL's
    ``pg_temp``, both gone when the transaction ends) and compare them with the live projections, in one
    snapshot of the database, naming the first row that differs.

    The projector writes unqualified table names, and both databases resolve those to the temporary tables
    first, so the replay is the live write path itself, not a second implementation."""
    from sqlalchemy.schema import CreateIndex, CreateTable

    from .stores.projections import projection_tables
    from .stores.projector import Projector

    tables = projection_tables()

    postgres = store.dialect == "postgresql"
    with store.engine.connect() as conn:
        if postgres:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin() as transaction:
            live = "main" if not postgres else conn.exec_driver_sql("SELECT current_schema()").scalar()
            scratch = "temp" if not postgres else "pg_temp"
            head = int(conn.exec_driver_sql(f"SELECT seq FROM {live}.ledger_head WHERE id = 1").scalar() or 0)
            for table in tables:
                ddl = str(CreateTable(table).compile(dialect=conn.dialect)).strip()
                conn.exec_driver_sql(ddl.replace("CREATE TABLE", "CREATE TEMPORARY TABLE", 1))
                for index in table.indexes:
                    statement = str(CreateIndex(index).compile(dialect=conn.dialect))
                    conn.exec_driver_sql(
                        statement.replace(f"INDEX {index.name}", f"INDEX audit_{index.name}", 1)
                    )
            dbapi = conn.connection.dbapi_connection
            projector = Projector(dbapi, postgres)
            replayed = _replay(dbapi, projector, f"{live}.events", head)
            rows = 0
            unkept = {name for p in projector.projections.values() if not p.active for name in p.tables}
            for table in (t for t in tables if t.name not in unkept):
                rows += int(conn.exec_driver_sql(f"SELECT COUNT(*) FROM {live}.{table.name}").scalar() or 0)
                found = _first_difference(conn, table.name, [c.name for c in table.columns], live, scratch)
                if found is not None:
                    transaction.rollback()
                    return ProjectionReport(False, replayed, rows, table.name, found[0], found[1])
            transaction.rollback()
    return ProjectionReport(True, replayed, rows)


def _replay(dbapi: Any, projector: Any, events_table: str, head: int) -> int:
    import json

    from .events import StoredEvent

    cursor = dbapi.cursor()
    mark = "%s" if projector.postgres else "?"
    sql = (
        f"SELECT seq, id, type, v, ts, actor, payload, payload_sha256, prev_hash, hash FROM {events_table} "
        f"WHERE seq > {mark} AND seq <= {mark} ORDER BY seq LIMIT 5000"
    )
    last = count = 0
    try:
        while True:
            cursor.execute(sql, (last, head))
            batch = cursor.fetchall()
            if not batch:
                return count
            for row in batch:
                payload = json.loads(row[6]) if row[6] is not None else None
                projector.apply(StoredEvent(row[0], row[1], row[2], row[3], row[4], row[5], payload, row[7],
                                            row[8], row[9]))
            count += len(batch)
            last = batch[-1][0]
    finally:
        cursor.close()


def _first_difference(conn: Any, table: str, columns: list[str], live: str,
                      scratch: str) -> tuple[dict[str, Any], str] | None:
    keys = _ROW_KEYS.get(table, tuple(columns))
    cols = ", ".join(columns)
    order = ", ".join(keys)
    sql = (
        f"SELECT * FROM (SELECT {cols}, 'table' AS side FROM (SELECT {cols} FROM {live}.{table} EXCEPT "
        f"SELECT {cols} FROM {scratch}.{table}) AS a UNION ALL SELECT {cols}, 'replay' AS side FROM (SELECT "
        f"{cols} FROM {scratch}.{table} EXCEPT SELECT {cols} FROM {live}.{table}) AS b) AS d "
        f"ORDER BY {order}, side LIMIT 2"
    )
    found = [dict(row._mapping) for row in conn.exec_driver_sql(sql)]
    if not found:
        return None
    first = found[0]
    key = {k: first[k] for k in keys}
    named = ", ".join(f"{k}={v!r}" for k, v in key.items())
    pair = [r for r in found if all(r[k] == first[k] for k in keys)]
    if len(pair) == 2:
        in_table, replayed = (pair[0], pair[1]) if pair[0]["side"] == "table" else (pair[1], pair[0])
        changed = [c for c in columns if in_table[c] != replayed[c]]
        detail = "; ".join(f"{c} is {_show(in_table[c])} in the table but {_show(replayed[c])} in the replay"
                           for c in changed)
        return key, (
            f"{table} row {named} differs from a replay of the ledger: {detail}; the table was edited "
            "behind the ledger's back (run `mlineage rebuild` to restore it from the ledger)"
        )
    if first["side"] == "table":
        return key, (
            f"{table} row {named} is in the table but not in a replay of the ledger: it was added behind "
            "the ledger's back (run `mlineage rebuild` to restore the tables from the ledger)"
        )
    return key, (
        f"{table} row {named} is missing from the table although the ledger produces it: it was "
        "deleted behind the ledger's back (run `mlineage rebuild` to restore the tables from the ledger)"
    )


def _show(value: Any) -> str:
    if isinstance(value, bytes | memoryview):
        return f"<{len(bytes(value))} bytes>"
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
