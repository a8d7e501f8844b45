"""Reading the ``serving`` projection: the SQL tables of a local store, or a namespace view of them on a
server (a trace is visible when its model version is, or when it names none). A remote Client does not read
tables: ``service.py`` asks the server's ``/api/v1/serving`` endpoints, which read them here."""

from __future__ import annotations

import json
from typing import Any

from ..errors import ConfigError

_NO_LIMIT = 2**62


def _model_filter(model: str | None, params: dict[str, Any]) -> str:
    if not model:
        return ""
    name, sep, tail = model.rpartition("@")
    if sep and tail.isdigit():
        params.update(mn=name, mv=int(tail))
        return " AND model_name = :mn AND model_version = :mv"
    params["m"] = model
    return " AND (model_name = :m OR model_ref = :m OR model_digest = :m)"


def _trace(r: Any) -> dict[str, Any]:
    out = {
        "trace_id": r.trace_id,
        "seq": int(r.seq),
        "ts": r.ts,
        "endpoint": r.endpoint,
        "model": r.model_ref,
        "model_name": r.model_name,
        "model_version": r.model_version,
        "model_digest": r.model_digest,
        "resolved": r.resolved,
        "index": r.index_ref,
        "index_digest": r.index_digest,
        "prompt": r.prompt_ref,
        "prompt_digest": r.prompt_digest,
        "inputs_digest": r.inputs_digest,
        "retrieved": int(r.retrieved),
        "actor": r.actor,
    }
    facts: dict[str, Any] = {
        k: getattr(r, k)
        for k in ("latency_ms", "input_tokens", "output_tokens", "cost", "guardrail", "status")
        if getattr(r, k) is not None
    }
    if r.facts:
        facts.update(json.loads(r.facts))
    out["facts"] = facts
    return out


class SqlTraces:
    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def _rows(self, sql: str, params: dict[str, Any]) -> list[Any]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def traces(
        self, endpoint: str | None, model: str | None, as_of_seq: int | None, limit: int
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"s": _NO_LIMIT if as_of_seq is None else as_of_seq, "l": limit}
        where = "seq <= :s"
        if endpoint:
            where += " AND endpoint = :e"
            params["e"] = endpoint
        where += _model_filter(model, params)
        rows = self._rows(
            f"SELECT * FROM serving_traces WHERE {where} ORDER BY seq DESC, ts DESC, trace_id LIMIT :l",
            params,
        )
        return [_trace(r) for r in rows]

    def trace(self, trace_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM serving_traces WHERE trace_id = :t", {"t": trace_id})
        if not rows:
            return None
        out = _trace(rows[0])
        chunks = self._rows(
            "SELECT * FROM serving_retrievals WHERE trace_id = :t ORDER BY position", {"t": trace_id}
        )
        out["retrieved"] = [
            {
                "chunk_id": c.chunk_id,
                "content_hash": c.content_hash,
                "document_id": c.document_id,
                "score": c.score,
            }
            for c in chunks
        ]
        return out

    def summary(self, endpoint: str | None, model: str | None, as_of_seq: int | None) -> dict[str, Any]:
        params: dict[str, Any] = {"s": _NO_LIMIT if as_of_seq is None else as_of_seq}
        if as_of_seq is None and not model:
            where = "1 = 1" + (" AND endpoint = :e" if endpoint else "")
            params["e"] = endpoint or ""
            rows = [
                {
                    "endpoint": r.endpoint or None,
                    "model": r.model,
                    "model_digest": r.model_digest or None,
                    "traces": int(r.traces),
                    "errors": int(r.errors),
                    "mean_latency_ms": round(r.latency_ms / r.timed, 3) if r.timed else None,
                    "input_tokens": int(r.input_tokens),
                    "output_tokens": int(r.output_tokens),
                    "cost": round(float(r.cost), 6),
                    "first_ts": r.first_ts,
                    "last_ts": r.last_ts,
                }
                for r in self._rows(
                    f"SELECT * FROM serving_summary WHERE {where} ORDER BY endpoint, model", params
                )
            ]
        else:  # as it stood, or one model: from the traces themselves
            rows = self._fold(endpoint, model, params)
        lost = self._rows(
            "SELECT COALESCE(SUM(dropped), 0) AS d, COALESCE(SUM(sampled_out), 0) AS o "
            "FROM serving_losses WHERE seq <= :s",
            params,
        )[0]
        return {"rows": rows, "dropped": int(lost.d), "sampled_out": int(lost.o)}

    def _fold(self, endpoint: str | None, model: str | None, params: dict[str, Any]) -> list[dict[str, Any]]:
        from .events import is_error
        from .model import model_label

        where = "seq <= :s" + (" AND endpoint = :e" if endpoint else "") + _model_filter(model, params)
        params["e"] = endpoint
        out: dict[tuple[str, str, str], dict[str, Any]] = {}
        for r in self._rows(f"SELECT * FROM serving_traces WHERE {where} ORDER BY seq", params):
            t = _trace(r)
            label = model_label(t)
            row = out.setdefault(
                (r.endpoint or "", label, r.model_digest or ""),
                {
                    "endpoint": r.endpoint,
                    "model": label,
                    "model_digest": r.model_digest,
                    "traces": 0,
                    "errors": 0,
                    "latency": [0.0, 0],
                    "input_tokens": 0,
                    "output_tokens": 0,
                    "cost": 0.0,
                    "first_ts": r.ts,
                    "last_ts": r.ts,
                },
            )
            row["traces"] += 1
            row["errors"] += is_error(t["facts"])
            if r.latency_ms is not None:
                row["latency"][0] += r.latency_ms
                row["latency"][1] += 1
            row["input_tokens"] += r.input_tokens or 0
            row["output_tokens"] += r.output_tokens or 0
            row["cost"] += r.cost or 0
            row["first_ts"], row["last_ts"] = min(row["first_ts"], r.ts), max(row["last_ts"], r.ts)
        rows = []
        for key in sorted(out):
            row = out[key]
            total, timed = row.pop("latency")
            row["mean_latency_ms"] = round(total / timed, 3) if timed else None
            row["cost"] = round(row["cost"], 6)
            rows.append(row)
        return rows

    def citing(self, document_id: str, limit: int = 100) -> list[str]:
        """The trace ids whose answers retrieved a chunk of ``document_id``, newest first."""
        rows = self._rows(
            "SELECT DISTINCT trace_id, seq FROM serving_retrievals WHERE document_id = :d "
            "ORDER BY seq DESC LIMIT :l",
            {"d": document_id, "l": limit},
        )
        return [r.trace_id for r in rows]


class VisibleTraces:
    """The traces of ``inner`` whose model version ``store`` (a server's namespace view) shows."""

    def __init__(self, inner: SqlTraces, store: Any) -> None:
        self.inner, self.store = inner, store

    def _visible(self, digest: str | None) -> bool:
        return digest is None or self.store.get_artifact(digest) is not None

    def traces(
        self, endpoint: str | None, model: str | None, as_of_seq: int | None, limit: int
    ) -> list[dict[str, Any]]:
        return [
            t
            for t in self.inner.traces(endpoint, model, as_of_seq, limit)
            if self._visible(t["model_digest"])
        ]

    def trace(self, trace_id: str) -> dict[str, Any] | None:
        found = self.inner.trace(trace_id)
        return found if found is not None and self._visible(found["model_digest"]) else None

    def summary(self, endpoint: str | None, model: str | None, as_of_seq: int | None) -> dict[str, Any]:
        found = self.inner.summary(endpoint, model, as_of_seq)
        found["rows"] = [r for r in found["rows"] if self._visible(r["model_digest"])]
        return found

    def citing(self, document_id: str, limit: int = 100) -> list[str]:
        return [t for t in self.inner.citing(document_id, limit) if self.trace(t) is not None]


def records_for(store: Any) -> SqlTraces | VisibleTraces:
    """The serving records of a store (its SQL engine, or a namespace view's inner one)."""
    if hasattr(store, "engine"):
        return SqlTraces(store.engine)
    inner = getattr(store, "inner", None)
    if inner is not None and hasattr(inner, "engine"):
        return VisibleTraces(SqlTraces(inner.engine), store)
    raise ConfigError(f"{getattr(store, 'uri', store)} keeps no serving traces here")
