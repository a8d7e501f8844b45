"""Reads of the import projections: alias digests and inferred edges (SQL stores; a remote store has none of
these tables to read and answers empty)."""

from __future__ import annotations

import json
from typing import Any

from .records import parse_alias


def _engine(store: Any) -> Any:
    return getattr(store, "engine", None)


def alias_targets(store: Any, alias: str) -> list[str]:
    """The artifact digests an alias digest (``md5:...``) names, oldest first; a real (rehashed) digest before
    a placeholder is not implied: callers see them all."""
    engine = _engine(store)
    if engine is None:
        return []
    from sqlalchemy import text

    with engine.connect() as conn:
        rows = conn.execute(text("SELECT digest FROM digest_aliases WHERE alias = :a ORDER BY seq"),
                            {"a": parse_alias(alias)})
        return [str(r[0]) for r in rows]


def inferred_edges(store: Any, status: str | None = None) -> list[dict[str, Any]]:
    """Inferred edges with their confidence, evidence and status (inferred, confirmed, rejected)."""
    engine = _engine(store)
    if engine is None:
        return []
    from sqlalchemy import text

    sql = "SELECT edge_id, parent, child, relation, confidence, method, evidence, status FROM inferred_edges"
    params: dict[str, Any] = {}
    if status is not None:
        sql += " WHERE status = :s"
        params["s"] = status
    with engine.connect() as conn:
        rows = conn.execute(text(sql + " ORDER BY seq"), params).all()
    return [{"edge_id": r[0], "parent": r[1], "child": r[2], "relation": r[3], "confidence": r[4],
             "method": r[5], "evidence": json.loads(r[6]), "status": r[7]} for r in rows]
