"""The serving-trace event type and its projection.

* ``ServingTraces``: a batch of serving traces (``model.py`` says what one is), with how many traces the
  recorder dropped (its queue was full) and sampled out since its previous batch. One event carries many
  traces because a serving path writes thousands a second: the hash chain covers them all, and a retried
  batch is skipped by its event id like any other event.

The ``serving`` projection owns:

* ``serving_traces``, one row per trace id (a trace id seen again is ignored: the first record stands),
  with the registry version, index and prompt versions and the facts kept in columns;
* ``serving_retrievals``, one row per retrieved chunk (chunk id, content hash, source document id, score):
  "which answers cited document X?" is one indexed look-up;
* ``serving_summary``, per endpoint and model version: traces, errors, latency, tokens, cost, first and last;
* ``serving_losses``, per batch that lost traces: dropped and sampled-out counts.

A trace that names a registry alias (``chat@production``) carries the digest the recorder resolved; where
the recorder could not resolve it (its store was unreachable), the projection resolves it as the alias stood
when the batch was appended, and marks the row ``resolved = 'ingest'``; a trace naming only an endpoint gets
the version last deployed there (``'deployment'``). Replayed in ledger order, ``rebuild`` finds the same.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..catalogue import EventSpec, register_artifact_kind, register_event
from ..errors import ValidationError
from ..stores.projections import Projection, register_projection
from .model import check_traces, model_label

if TYPE_CHECKING:
    from sqlalchemy import Table

    from ..events import StoredEvent

SERVING_TRACES = "ServingTraces"
MAX_TRACES_PER_EVENT = 1000

EMBEDDING_INDEX = register_artifact_kind("embedding_index")
"""The kind of an embedding index version (an artifact DERIVED_FROM its corpus version and its embedding
model); ``explain.py`` reads any such artifact, whoever records it."""


def _count(p: Mapping[str, Any], key: str) -> int:
    value = p.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(key, "must be a whole number >= 0")
    return value


def _validate(p: Mapping[str, Any]) -> dict[str, Any]:
    traces = p.get("traces")
    if isinstance(traces, list) and len(traces) > MAX_TRACES_PER_EVENT:
        raise ValidationError("traces", f"at most {MAX_TRACES_PER_EVENT} traces per event")
    out: dict[str, Any] = {}
    for key in ("dropped", "sampled_out"):
        if p.get(key):
            out[key] = _count(p, key)
    # a batch without traces only reports losses (the recorder's last word at exit)
    out["traces"] = [] if traces == [] and out else check_traces(traces)
    rate = p.get("sample_rate")
    if rate is not None:
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 1:
            raise ValidationError("sample_rate", "must be a number in (0, 1]")
        out["sample_rate"] = int(rate) if rate == 1 else rate
    return out


def _references(p: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    digests = {
        t[key]
        for t in p.get("traces") or ()
        for key in ("model_digest", "index_digest", "prompt_digest")
        if isinstance(t, Mapping) and t.get(key)
    }
    return tuple(("artifact", d) for d in sorted(digests))


SERVING_SPEC = register_event(
    EventSpec(SERVING_TRACES, _validate, references=_references, projections=("serving",))
)

_TRACE_COLUMNS = (
    "trace_id",
    "seq",
    "ts",
    "endpoint",
    "model_ref",
    "model_name",
    "model_version",
    "model_digest",
    "resolved",
    "index_ref",
    "index_digest",
    "prompt_ref",
    "prompt_digest",
    "inputs_digest",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "cost",
    "guardrail",
    "status",
    "retrieved",
    "facts",
    "actor",
)
_RETRIEVAL_COLUMNS = (
    "trace_id",
    "position",
    "chunk_id",
    "content_hash",
    "document_id",
    "score",
    "index_digest",
    "seq",
)


def _tables() -> list[Table]:
    from sqlalchemy import BigInteger, Column, Float, Index, Integer, MetaData, String, Table, Text

    md = MetaData()
    return [
        Table(
            "serving_traces",
            md,
            Column("trace_id", String(128), primary_key=True),
            Column("seq", BigInteger, nullable=False),
            Column("ts", String(40), nullable=False),
            Column("endpoint", String(128)),
            Column("model_ref", String(300)),
            Column("model_name", String(128)),
            Column("model_version", Integer),
            Column("model_digest", String(80)),
            Column("resolved", String(16)),
            Column("index_ref", String(300)),
            Column("index_digest", String(80)),
            Column("prompt_ref", String(300)),
            Column("prompt_digest", String(80)),
            Column("inputs_digest", String(80)),
            Column("latency_ms", Float),
            Column("input_tokens", BigInteger),
            Column("output_tokens", BigInteger),
            Column("cost", Float),
            Column("guardrail", String(1000)),
            Column("status", String(1000)),
            Column("retrieved", Integer, nullable=False),
            Column("facts", Text),
            Column("actor", String(256)),
            Index("ix_serving_traces_endpoint", "endpoint", "seq"),
            Index("ix_serving_traces_model", "model_name", "seq"),
            Index("ix_serving_traces_seq", "seq"),
        ),
        Table(
            "serving_retrievals",
            md,
            Column("trace_id", String(128), primary_key=True),
            Column("position", Integer, primary_key=True),
            Column("chunk_id", String(512), nullable=False),
            Column("content_hash", String(80)),
            Column("document_id", String(512)),
            Column("score", Float),
            Column("index_digest", String(80)),
            Column("seq", BigInteger, nullable=False),
            Index("ix_serving_retrievals_document", "document_id"),
            Index("ix_serving_retrievals_chunk", "chunk_id"),
        ),
        Table(
            "serving_summary",
            md,
            Column("endpoint", String(128), primary_key=True),
            Column("model", String(300), primary_key=True),
            Column("model_digest", String(80), primary_key=True),
            Column("traces", BigInteger, nullable=False),
            Column("errors", BigInteger, nullable=False),
            Column("latency_ms", Float, nullable=False),
            Column("timed", BigInteger, nullable=False),
            Column("input_tokens", BigInteger, nullable=False),
            Column("output_tokens", BigInteger, nullable=False),
            Column("cost", Float, nullable=False),
            Column("first_ts", String(40), nullable=False),
            Column("last_ts", String(40), nullable=False),
            Column("last_seq", BigInteger, nullable=False),
        ),
        Table(
            "serving_losses",
            md,
            Column("seq", BigInteger, primary_key=True),
            Column("dropped", BigInteger, nullable=False),
            Column("sampled_out", BigInteger, nullable=False),
            Column("sample_rate", Float),
        ),
    ]


def is_error(facts: Mapping[str, Any]) -> bool:
    """A trace that failed: an ``error`` fact, or a ``status`` other than ok/success."""
    status = facts.get("status")
    return bool(facts.get("error")) or (
        isinstance(status, str) and status.lower() not in ("ok", "success", "unset")
    )


class ServingProjection(Projection):
    """Owns ``serving_traces``, ``serving_retrievals``, ``serving_summary`` and ``serving_losses``."""

    name = "serving"
    tables = ("serving_traces", "serving_retrievals", "serving_summary", "serving_losses")

    def __init__(self, writer: Any) -> None:
        super().__init__(writer)
        mark = "%s" if writer.postgres else "?"
        self._mark = mark
        self._insert_trace = _insert("serving_traces", _TRACE_COLUMNS, writer.postgres)
        self._insert_retrieval = _insert("serving_retrievals", _RETRIEVAL_COLUMNS, writer.postgres)

    @classmethod
    def schema(cls) -> Sequence[Table]:
        return _tables()

    def handlers(self) -> dict[str, Any]:
        return {SERVING_TRACES: self._traces}

    # ------------------------------------------------------------ resolution at ingest

    def _registry(self, ref: str) -> tuple[str, int, str] | None:
        from ..registry.model import looks_like_version, split_ref

        parts = split_ref(ref)
        if parts is None:
            return None
        name, _, text = parts
        if text.isdigit():
            row = self.writer.one(
                "SELECT version, digest FROM registry_versions WHERE name = :n AND version = :v",
                {"n": name, "v": int(text)},
            )
        elif not looks_like_version(text):
            row = self.writer.one(
                "SELECT version, digest FROM registry_aliases WHERE name = :n AND alias = :a",
                {"n": name, "a": text},
            )
        else:
            return None
        return None if row is None else (name, int(row[0]), str(row[1]))

    def _deployed(self, endpoint: str) -> tuple[str, int, str] | None:
        row = self.writer.one(
            "SELECT name, version, digest FROM registry_deployments WHERE endpoint = :e "
            "ORDER BY seq DESC LIMIT 1",
            {"e": endpoint},
        )
        return None if row is None else (str(row[0]), int(row[1]), str(row[2]))

    def _resolve(
        self, t: dict[str, Any], cache: dict[tuple[str, str], Any]
    ) -> tuple[Any, Any, Any, str | None]:
        if t.get("model_digest"):
            return t.get("model_name"), t.get("model_version"), t["model_digest"], "client"
        if t.get("model"):
            key = ("ref", t["model"])
            if key not in cache:
                cache[key] = self._registry(t["model"])
            how = "ingest"
        elif t.get("endpoint"):
            key = ("endpoint", t["endpoint"])
            if key not in cache:
                cache[key] = self._deployed(t["endpoint"])
            how = "deployment"
        else:
            return None, None, None, None
        found = cache[key]
        if found is None:
            return t.get("model_name"), t.get("model_version"), None, None
        return found[0], found[1], found[2], how

    # ------------------------------------------------------------ the fold

    def _known(self, ids: list[str]) -> set[str]:
        if self.writer.postgres:  # the ids as one JSON array: one short statement, whatever the batch size
            self.writer.reader.execute(
                "SELECT trace_id FROM serving_traces WHERE trace_id = ANY("
                "ARRAY(SELECT json_array_elements_text(%s::json)))",
                (json.dumps(ids),),
            )
            return {r[0] for r in self.writer.reader.fetchall()}
        known: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join([self._mark] * len(chunk))
            sql = f"SELECT trace_id FROM serving_traces WHERE trace_id IN ({marks})"
            self.writer.reader.execute(sql, chunk)
            known.update(r[0] for r in self.writer.reader.fetchall())
        return known

    def _traces(self, e: StoredEvent, p: dict[str, Any]) -> None:
        traces = p["traces"]
        known = self._known([t["trace_id"] for t in traces])
        cache: dict[tuple[str, str], Any] = {}
        rows, chunks = [], []
        summary: dict[tuple[str, str, str], list[Any]] = {}
        for t in traces:
            if t["trace_id"] in known:
                continue
            known.add(t["trace_id"])
            name, version, digest, how = self._resolve(t, cache)
            facts = t.get("facts") or {}
            rest = {
                k: v
                for k, v in facts.items()
                if k not in ("latency_ms", "input_tokens", "output_tokens", "cost", "guardrail", "status")
            }
            retrieved = t.get("retrieved") or ()
            rows.append(
                (
                    t["trace_id"],
                    e.seq,
                    t["ts"],
                    t.get("endpoint"),
                    t.get("model"),
                    name,
                    version,
                    digest,
                    how,
                    t.get("index"),
                    t.get("index_digest"),
                    t.get("prompt"),
                    t.get("prompt_digest"),
                    t.get("inputs_digest"),
                    facts.get("latency_ms"),
                    facts.get("input_tokens"),
                    facts.get("output_tokens"),
                    facts.get("cost"),
                    _str(facts.get("guardrail")),
                    _str(facts.get("status")),
                    len(retrieved),
                    json.dumps(rest, separators=(",", ":"), sort_keys=True) if rest else None,
                    e.actor,
                )
            )
            for i, (chunk_id, content_hash, document_id, score) in enumerate(retrieved):
                chunks.append(
                    (
                        t["trace_id"],
                        i,
                        chunk_id,
                        content_hash,
                        document_id,
                        score,
                        t.get("index_digest"),
                        e.seq,
                    )
                )
            label = model_label(
                {
                    "model_name": name,
                    "model_version": version,
                    "model": t.get("model"),
                    "model_digest": digest,
                }
            )
            key = (t.get("endpoint") or "", label, digest or "")
            s = summary.get(key)
            if s is None:
                s = summary[key] = [0, 0, 0.0, 0, 0, 0, 0.0, t["ts"], t["ts"]]
            s[0] += 1
            s[1] += is_error(facts)
            if isinstance(facts.get("latency_ms"), (int, float)):
                s[2] += facts["latency_ms"]
                s[3] += 1
            s[4] += facts.get("input_tokens") or 0
            s[5] += facts.get("output_tokens") or 0
            s[6] += facts.get("cost") or 0
            s[7], s[8] = min(s[7], t["ts"]), max(s[8], t["ts"])
        if rows:
            self._insert(self._insert_trace, _TRACE_COLUMNS, rows)
        if chunks:
            self._insert(self._insert_retrieval, _RETRIEVAL_COLUMNS, chunks)
        for (endpoint, label, digest), s in summary.items():
            self._summarise(endpoint, label, digest, s, e.seq)
        if p.get("dropped") or p.get("sampled_out"):
            self.writer.execute(
                "INSERT INTO serving_losses (seq, dropped, sampled_out, sample_rate) VALUES (:q, :d, :s, :r)",
                {
                    "q": e.seq,
                    "d": p.get("dropped", 0),
                    "s": p.get("sampled_out", 0),
                    "r": p.get("sample_rate"),
                },
            )

    def _insert(self, sql: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        """Many rows: in one statement on PostgreSQL (the rows as one JSON array of arrays, which the server
        parses once as jsonb and takes apart by position: cheaper than a statement or an adapted array per
        row, and than a JSON object per row, whose keys are built and written for every row; plain json
        would be re-parsed at each column), else executemany."""
        if not self.writer.postgres:
            self.writer.cursor.executemany(sql, rows)
            return
        self.writer.cursor.execute(sql, (json.dumps(rows, separators=(",", ":")),))

    def _summarise(self, endpoint: str, label: str, digest: str, s: list[Any], seq: int) -> None:
        params = {
            "e": endpoint,
            "m": label,
            "d": digest,
            "n": s[0],
            "x": s[1],
            "l": s[2],
            "t": s[3],
            "i": s[4],
            "o": s[5],
            "c": s[6],
            "f": s[7],
            "z": s[8],
            "q": seq,
        }
        # one upsert, no read: a read would wait for the batch's inserts before it (pipeline mode)
        self.writer.execute(
            "INSERT INTO serving_summary (endpoint, model, model_digest, traces, errors, latency_ms, timed, "
            "input_tokens, output_tokens, cost, first_ts, last_ts, last_seq) "
            "VALUES (:e, :m, :d, :n, :x, :l, :t, :i, :o, :c, :f, :z, :q) "
            "ON CONFLICT (endpoint, model, model_digest) DO UPDATE SET "
            "traces = serving_summary.traces + excluded.traces, "
            "errors = serving_summary.errors + excluded.errors, "
            "latency_ms = serving_summary.latency_ms + excluded.latency_ms, "
            "timed = serving_summary.timed + excluded.timed, "
            "input_tokens = serving_summary.input_tokens + excluded.input_tokens, "
            "output_tokens = serving_summary.output_tokens + excluded.output_tokens, "
            "cost = serving_summary.cost + excluded.cost, "
            "first_ts = CASE WHEN serving_summary.first_ts < excluded.first_ts "
            "THEN serving_summary.first_ts ELSE excluded.first_ts END, "
            "last_ts = CASE WHEN serving_summary.last_ts > excluded.last_ts "
            "THEN serving_summary.last_ts ELSE excluded.last_ts END, last_seq = excluded.last_seq",
            params,
        )


_CASTS = {"BigInteger": "::bigint", "Integer": "::integer", "Float": "::double precision"}


@functools.cache
def _insert(table: str, columns: tuple[str, ...], postgres: bool) -> str:
    """The statement (made once: a store makes a projection per append)."""
    names = ", ".join(columns)
    if postgres:
        types = {c.name: type(c.type).__name__ for t in _tables() if t.name == table for c in t.columns}
        values = ", ".join(f"(r->>{i}){_CASTS.get(types[c], '')}" for i, c in enumerate(columns))
        return f"INSERT INTO {table} ({names}) SELECT {values} FROM jsonb_array_elements(%s::jsonb) AS r"
    return f"INSERT INTO {table} ({names}) VALUES ({', '.join(['?'] * len(columns))})"


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


register_projection(ServingProjection)
