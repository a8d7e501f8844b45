"""The lineage graph: one query-options object, an in-memory engine with an SQL fallback, and the queries
built on them (trace/impact, path, closure, lineage diff).

Pure logic over the store's graph-access methods; no CLI, no Rich. The Client calls these functions; the CLI,
SDK and server call the Client.
"""

from __future__ import annotations

from .engine import GraphEngine, walk
from .query import Direction, LineageQuery, LineageResult, node_key, node_ref

__all__ = ["Direction", "GraphEngine", "LineageQuery", "LineageResult", "node_key", "node_ref", "walk"]
