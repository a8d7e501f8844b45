"""Reading the LLM projections (corpus documents and shards, model links, online checkpoints) from a local
SQL store. A remote Client does not read them: its proofs and look-ups are answered whole by the server
(``server/routers/llm.py``), which reads them here."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError


class LlmRecords:
    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def rows(self, sql: str, params: dict[str, Any]) -> list[Any]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))


def records_for(store: Any) -> LlmRecords:
    """The LLM records of a store (its SQL engine, or a namespace view's inner one)."""
    if hasattr(store, "engine"):
        return LlmRecords(store.engine)
    inner = getattr(store, "inner", None)
    if inner is not None and hasattr(inner, "engine"):
        return LlmRecords(inner.engine)
    raise ConfigError(f"{getattr(store, 'uri', store)} keeps no LLM lineage records here: run this command "
                      "where the store's database is reachable (there is no server endpoint for them yet)")
