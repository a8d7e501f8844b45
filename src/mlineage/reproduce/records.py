"""The events and tables of reproduce and reuse: each event declared once, each table a projection.

* ``RunKeyed`` (a completed run's cache key and its term digests) → ``run_keys``, indexed by key and by job
  term: what a reuse look-up reads (one indexed row, whatever the store's size) and what ``--explain``
  compares a miss with.
* ``RunReused`` (a run that restored another's outputs instead of running) → ``run_reuses`` and a ``REUSES``
  edge from the original run to the reused one (ML Metadata's CACHED).
* ``ReproductionVerdict`` (the verdict of ``mlineage reproduce``: identical, equivalent, different or failed,
  with the per-output comparison) → ``reproductions`` and a ``REPRODUCES`` edge from the original run to the
  re-run: an attestation a later audit can read.

The readers at the bottom take a SQL store (or a server's namespace view over one); a remote client asks the
server's ``/api/v1/reproduce`` router, which calls the same readers.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..catalogue import EventSpec, register_edge_type, register_event
from ..errors import ValidationError
from ..stores.projections import Projection, register_projection
from .key import TERMS

if TYPE_CHECKING:
    from sqlalchemy import Table

    from ..events import StoredEvent
    from ..stores.protocol import MetadataStore

RUN_KEYED = "RunKeyed"
RUN_REUSED = "RunReused"
REPRODUCTION_VERDICT = "ReproductionVerdict"
REPRODUCES = register_edge_type("REPRODUCES")
REUSES = register_edge_type("REUSES")
VERDICTS = ("identical", "equivalent", "different", "failed")


def _run_id(p: Mapping[str, Any], key: str) -> str:
    value = p.get(key)
    if not isinstance(value, str) or not value or len(value) > 128:
        raise ValidationError(key, "must be a run id (a non-empty string of at most 128 characters)")
    return value


def _digest(p: Mapping[str, Any], key: str) -> str:
    value = p.get(key)
    if not isinstance(value, str) or not value.startswith("sha256:") or len(value) != 71:
        raise ValidationError(key, "must be a sha256:<64 hex> digest")
    return value


def _validate_keyed(p: Mapping[str, Any]) -> dict[str, Any]:
    terms = p.get("terms")
    if not isinstance(terms, Mapping) or set(terms) != set(TERMS):
        raise ValidationError("terms", f"must name exactly the key terms {', '.join(TERMS)}")
    outputs = p.get("outputs", [])
    if not isinstance(outputs, list) or not all(isinstance(o, Mapping) for o in outputs):
        raise ValidationError("outputs", "must be a list of {digest, path, kind, media_type, role}")
    checked = []
    for o in outputs:
        item: dict[str, str | None] = {"digest": _digest(o, "digest")}
        for name in ("path", "kind", "media_type", "role"):
            value = o.get(name)
            if value is not None and (not isinstance(value, str) or len(value) > 4096):
                raise ValidationError(f"outputs.{name}", "must be a string or null")
            item[name] = value
        checked.append(item)
    return {
        "run_id": _run_id(p, "run_id"),
        "key": _digest(p, "key"),
        "terms": {t: _digest(terms, t) for t in TERMS},
        "outputs": checked,
    }


def _validate_reused(p: Mapping[str, Any]) -> dict[str, Any]:
    out = {
        "run_id": _run_id(p, "run_id"),
        "original_run_id": _run_id(p, "original_run_id"),
        "key": _digest(p, "key"),
    }
    if out["run_id"] == out["original_run_id"]:
        raise ValidationError("original_run_id", "a run cannot reuse itself")
    return out


def _validate_verdict(p: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"run_id": _run_id(p, "run_id"), "original_run_id": _run_id(p, "original_run_id")}
    if out["run_id"] == out["original_run_id"]:
        raise ValidationError("original_run_id", "a run cannot reproduce itself")
    verdict = p.get("verdict")
    if verdict not in VERDICTS:
        raise ValidationError("verdict", f"must be one of {', '.join(VERDICTS)}")
    out["verdict"] = verdict
    for key in ("outputs", "environment"):
        value = p.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise ValidationError(key, "must be a list of objects")
        out[key] = [dict(v) for v in value]
    rtol = p.get("rtol", 0.0)
    if isinstance(rtol, bool) or not isinstance(rtol, int | float) or rtol < 0:
        raise ValidationError("rtol", "must be a number >= 0")
    out["rtol"] = float(rtol)
    if "message" in p:
        if not isinstance(p["message"], str):
            raise ValidationError("message", "must be a string")
        out["message"] = p["message"][:2000]
    return out


def _two_runs(p: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return (("run", p["run_id"]), ("run", p["original_run_id"]))


register_event(
    EventSpec(
        RUN_KEYED, _validate_keyed, references=lambda p: (("run", p["run_id"]),), projections=("run_keys",)
    )
)
register_event(EventSpec(RUN_REUSED, _validate_reused, references=_two_runs, projections=("run_reuses",)))
register_event(
    EventSpec(REPRODUCTION_VERDICT, _validate_verdict, references=_two_runs, projections=("reproductions",))
)


def _tables() -> dict[str, Table]:
    from sqlalchemy import BigInteger, Column, Float, Index, MetaData, String, Table, Text

    meta = MetaData()
    keys = Table(
        "run_keys",
        meta,
        Column("run_id", String(128), primary_key=True),
        Column("cache_key", String(71), nullable=False),
        Column("job_term", String(71), nullable=False),
        Column("terms", Text, nullable=False),
        Column("outputs", Text, nullable=False),
        Column("seq", BigInteger, nullable=False),
        Index("ix_run_keys_key", "cache_key", "seq"),
        Index("ix_run_keys_job", "job_term", "seq"),
    )
    reuses = Table(
        "run_reuses",
        meta,
        Column("run_id", String(128), primary_key=True),
        Column("original_run_id", String(128), nullable=False, index=True),
        Column("cache_key", String(71), nullable=False),
        Column("seq", BigInteger, nullable=False),
    )
    verdicts = Table(
        "reproductions",
        meta,
        Column("run_id", String(128), primary_key=True),
        Column("original_run_id", String(128), nullable=False, index=True),
        Column("verdict", String(16), nullable=False),
        Column("rtol", Float, nullable=False),
        Column("detail", Text, nullable=False),
        Column("seq", BigInteger, nullable=False),
    )
    return {"run_keys": keys, "run_reuses": reuses, "reproductions": verdicts}


class RunKeysProjection(Projection):
    """Owns ``run_keys``: one row per keyed run."""

    name = "run_keys"
    tables = ("run_keys",)

    @classmethod
    def schema(cls) -> Sequence[Table]:
        return [_tables()["run_keys"]]

    def handlers(self) -> dict[str, Any]:
        return {RUN_KEYED: self._keyed}

    def _keyed(self, e: StoredEvent, p: dict[str, Any]) -> None:
        self.writer.projection("runs").state(p["run_id"])  # the run must exist
        if self.writer.one("SELECT 1 FROM run_keys WHERE run_id = :id", {"id": p["run_id"]}):
            raise ValidationError("run_id", f"run {p['run_id']} already has a cache key")
        self.writer.execute(
            "INSERT INTO run_keys (run_id, cache_key, job_term, terms, outputs, seq) "
            "VALUES (:r, :k, :j, :t, :o, :s)",
            {
                "r": p["run_id"],
                "k": p["key"],
                "j": p["terms"]["job"],
                "t": json.dumps(p["terms"], sort_keys=True),
                "o": json.dumps(p.get("outputs") or [], sort_keys=True),
                "s": e.seq,
            },
        )


class RunReusesProjection(Projection):
    """Owns ``run_reuses`` and draws the original → reused ``REUSES`` edge."""

    name = "run_reuses"
    tables = ("run_reuses",)

    @classmethod
    def schema(cls) -> Sequence[Table]:
        return [_tables()["run_reuses"]]

    def handlers(self) -> dict[str, Any]:
        return {RUN_REUSED: self._reused}

    def _reused(self, e: StoredEvent, p: dict[str, Any]) -> None:
        runs = self.writer.projection("runs")
        run, original = runs.state(p["run_id"]), runs.state(p["original_run_id"])
        if self.writer.one("SELECT 1 FROM run_reuses WHERE run_id = :id", {"id": p["run_id"]}):
            raise ValidationError("run_id", f"run {p['run_id']} already reused a run")
        self.writer.projection("graph").edge(original.node_id, run.node_id, REUSES, None, e.seq)
        self.writer.execute(
            "INSERT INTO run_reuses (run_id, original_run_id, cache_key, seq) VALUES (:r, :o, :k, :s)",
            {"r": p["run_id"], "o": p["original_run_id"], "k": p["key"], "s": e.seq},
        )


class ReproductionsProjection(Projection):
    """Owns ``reproductions`` (re-run → original, verdict) and draws the original → re-run ``REPRODUCES``
    edge."""

    name = "reproductions"
    tables = ("reproductions",)

    @classmethod
    def schema(cls) -> Sequence[Table]:
        return [_tables()["reproductions"]]

    def handlers(self) -> dict[str, Any]:
        return {REPRODUCTION_VERDICT: self._verdict}

    def _verdict(self, e: StoredEvent, p: dict[str, Any]) -> None:
        runs = self.writer.projection("runs")
        run, original = runs.state(p["run_id"]), runs.state(p["original_run_id"])
        if self.writer.one("SELECT 1 FROM reproductions WHERE run_id = :id", {"id": p["run_id"]}):
            raise ValidationError("run_id", f"run {p['run_id']} already has a reproduction verdict")
        self.writer.projection("graph").edge(original.node_id, run.node_id, REPRODUCES, None, e.seq)
        detail = {k: p[k] for k in ("outputs", "environment", "message") if k in p}
        self.writer.execute(
            "INSERT INTO reproductions (run_id, original_run_id, verdict, rtol, detail, seq) "
            "VALUES (:r, :o, :v, :t, :d, :s)",
            {
                "r": p["run_id"],
                "o": p["original_run_id"],
                "v": p["verdict"],
                "t": p["rtol"],
                "d": json.dumps(detail, sort_keys=True),
                "s": e.seq,
            },
        )


for _projection in (RunKeysProjection, RunReusesProjection, ReproductionsProjection):
    register_projection(_projection)


# ---------------------------------------------------------------- readers (a SQL store or a view over one)


def _sql(store: MetadataStore) -> Any:
    """The SQL engine behind a store or a server's namespace view of one."""
    engine = getattr(store, "engine", None) or getattr(getattr(store, "inner", None), "engine", None)
    if engine is None:
        raise ValidationError("store", f"{store.uri} has no SQL tables here: ask its server")
    return engine


_lookup_connections: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


@contextmanager
def _lookup_connection(store: MetadataStore) -> Iterator[Any]:
    """A connection for look-ups. On PostgreSQL one autocommit connection is kept per engine: a pooled one
    pays a ping on checkout and a rollback on return, two round trips more than the query itself, on a path a
    reusable step takes before it runs. A connection that failed is dropped; the next call opens another."""
    engine = _sql(store)
    if engine.dialect.name != "postgresql":
        with engine.connect() as conn:
            yield conn
        return
    conn = _lookup_connections.get(engine)
    if conn is None or conn.closed:
        conn = _lookup_connections[engine] = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        yield conn
    except Exception:
        _lookup_connections.pop(engine, None)
        conn.close()
        raise


def keyed_rows(
    store: MetadataStore, key: str, job_term: str, limit: int = 5
) -> tuple[list[tuple[str, list[dict[str, Any]]]], tuple[str, dict[str, str]] | None]:
    """One look-up on one connection: (completed runs recorded with this key and their outputs, newest
    first; the newest keyed run of the same job and its terms, to explain a miss -- only asked when there is
    no run with the key)."""
    from sqlalchemy import text

    view = getattr(store, "inner", None) is not None  # a server's namespace view: filter by visibility
    with _lookup_connection(store) as conn:
        rows = conn.execute(
            text(
                # the key's own rows first (its index), then their runs: a plan that does not depend on
                # how fresh the table statistics are
                "SELECT k.run_id, k.outputs FROM (SELECT run_id, outputs, seq FROM run_keys "
                "WHERE cache_key = :k ORDER BY seq DESC LIMIT 20) k JOIN runs r ON r.id = k.run_id "
                "WHERE r.status = 'completed' ORDER BY k.seq DESC LIMIT :n"
            ),
            {"k": key, "n": limit},
        ).all()
        hits = [(str(r[0]), json.loads(r[1])) for r in rows if not view or store.get_run(str(r[0]))]
        if hits:
            return hits, None
        rows = conn.execute(
            text("SELECT run_id, terms FROM run_keys WHERE job_term = :j ORDER BY seq DESC LIMIT 20"),
            {"j": job_term},
        ).all()
    nearest = next(
        ((str(r[0]), json.loads(r[1])) for r in rows if not view or store.get_run(str(r[0]))), None
    )
    return [], nearest


def reproductions_of(store: MetadataStore, run_id: str) -> list[dict[str, Any]]:
    """The reproduction verdicts that name a run, as the re-run or as the original, oldest first."""
    from sqlalchemy import text

    with _sql(store).connect() as conn:
        rows = conn.execute(
            text(
                "SELECT run_id, original_run_id, verdict, rtol, detail, seq FROM reproductions "
                "WHERE run_id = :r OR original_run_id = :r ORDER BY seq"
            ),
            {"r": run_id},
        ).all()
    return [
        {
            "run_id": r[0],
            "original_run_id": r[1],
            "verdict": r[2],
            "rtol": r[3],
            **json.loads(r[4]),
            "seq": r[5],
        }
        for r in rows
    ]


def reuse_of(store: MetadataStore, run_id: str) -> dict[str, Any] | None:
    from sqlalchemy import text

    with _sql(store).connect() as conn:
        row = conn.execute(
            text("SELECT original_run_id, cache_key FROM run_reuses WHERE run_id = :r"), {"r": run_id}
        ).first()
    return {"original_run_id": row[0], "key": row[1]} if row is not None else None
