"""The lineage graph: one query-options object, an in-memory engine with an SQL fallback, and the queries
built on them (trace/impact, path, closure, lineage diff).

Pure logic over the store's graph-access methods; no CLI, no Rich. The Client calls these functions; the CLI,
SDK and server call the Client.
"""

from __future__ import annotations

from typing import Any

from .query import Direction, LineageQuery, LineageResult, node_key, node_ref


def __getattr__(name: str) -> Any:
    # The engine needs numpy and scipy: load it on first use, not when the query types are imported.
    if name in ("GraphEngine", "walk"):
        from . import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'mlineage.graph' has no attribute {name!r}")

__all__ = ["Direction", "GraphEngine", "LineageQuery", "LineageResult", "node_key", "node_ref", "walk"]
