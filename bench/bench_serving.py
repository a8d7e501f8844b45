"""Serving traces: what ``mlineage.trace_request`` costs the caller's thread, and sustained trace ingest into
PostgreSQL over HTTP.

1. Per-request overhead on the caller's thread (p50, p99 of single calls timed with ``perf_counter_ns``),
   with the writer thread batching into a local SQLite store meanwhile (so the GIL is shared as in a real
   server). Peer, same run: an OpenTelemetry SDK span carrying the same attributes, ended into a
   ``BatchSpanProcessor`` whose exporter discards (OTel's own hot path, nothing exported).
2. Ingest into a team server on PostgreSQL: (a) the HTTP endpoint, several clients posting batches of
   traces (a non-Python service); (b) the Python path end to end: ``TraceRecorder`` over a remote Client
   (spooled, shipped as ``ServingTraces`` events), from the first call to the last trace on the server.

Run: ``python -m bench serving`` (``MLINEAGE_BENCH_QUICK=1`` for a small run). Needs the local PostgreSQL
(``MLINEAGE_BENCH_PG``); a fresh schema is made and dropped.
"""

from __future__ import annotations

import gc
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .bench_server import PG, _pg_schema, _server
from .harness import Result, workdir

GOAL_P50_US = 20.0
GOAL_P99_US = 100.0
GOAL_TPS = 5000.0

_FACTS = {"latency_ms": 412.5, "input_tokens": 812, "output_tokens": 96, "cost": 0.0021, "guardrail": "pass"}
_CHUNKS = [[f"doc-{i}#0", None, f"doc-{i}", 0.9 - i / 10] for i in range(4)]


def _percentiles(samples_ns: list[int]) -> tuple[float, float]:
    ordered = sorted(samples_ns)
    return ordered[len(ordered) // 2] / 1000, ordered[int(len(ordered) * 0.99)] / 1000


def _ours(n: int) -> tuple[float, float, dict[str, int]]:
    from mlineage.sdk.client import Client
    from mlineage.serving.recorder import TraceRecorder

    work = workdir("serving-overhead")
    for old in work.glob("store.db*"):
        old.unlink()
    client = Client.for_uri(f"sqlite:///{work / 'store.db'}", work / "objects")
    rec = TraceRecorder(client, queue_size=1_000_000, batch_size=1000, interval=0.2)
    clock = time.perf_counter_ns
    samples = []
    trace = rec.trace
    for i in range(200):  # warm: the writer thread is started, caches filled
        trace("bench", "chat@production", "kb@1", "prompt@2", latency_ms=1.0)
    gc.collect()
    for i in range(n):
        started = clock()
        trace("bench", "chat@production", "kb@1", "prompt@2", retrieved=_CHUNKS, **_FACTS)
        samples.append(clock() - started)
    stats = rec.flush(timeout=300)
    rec.close()
    client.close()
    p50, p99 = _percentiles(samples)
    return p50, p99, stats


def _otel(n: int) -> tuple[float, float] | None:
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
    except ImportError:
        return None

    class Discard(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Discard(), max_queue_size=1_000_000))
    tracer = provider.get_tracer("bench")
    attributes = {
        "endpoint": "bench",
        "model": "chat@production",
        "index": "kb@1",
        "prompt": "prompt@2",
        **{f"retrieval.documents.{i}.document.id": c[0] for i, c in enumerate(_CHUNKS)},
        **{f"retrieval.documents.{i}.document.score": c[3] for i, c in enumerate(_CHUNKS)},
        **_FACTS,
    }
    clock = time.perf_counter_ns
    for _ in range(200):
        with tracer.start_as_current_span("request") as span:
            span.set_attributes(attributes)
    gc.collect()
    samples = []
    for _ in range(n):
        started = clock()
        with tracer.start_as_current_span("request") as span:
            span.set_attributes(attributes)
        samples.append(clock() - started)
    provider.shutdown()
    return _percentiles(samples)


def _trace(i: int, tag: str) -> dict[str, Any]:
    return {
        "trace_id": f"{tag}-{i}",
        "endpoint": f"bench-{i % 4}",
        "model": "chat@production",
        "index": "kb@1",
        "retrieved": _CHUNKS,
        **_FACTS,
    }


def _http_ingest(url: str, token: str, total: int, clients: int, size: int) -> float:
    import httpx

    def send(share: int) -> None:
        with httpx.Client(
            base_url=url + "/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=300
        ) as c:
            for start in range(share, total, size * clients):
                body = {"traces": [_trace(i, "http") for i in range(start, min(start + size, total))]}
                c.post("/serving/traces", json=body).raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, [k * size for k in range(clients)]))
    return total / (time.perf_counter() - started)


def _recorder_ingest(url: str, token: str, total: int) -> tuple[float, dict[str, int]]:
    from mlineage.config import Settings
    from mlineage.sdk.client import Client
    from mlineage.serving.recorder import TraceRecorder
    from mlineage.stores.remote import RemoteStore

    work = workdir("serving-remote")
    for old in (work / "spool").glob("*"):
        old.unlink()
    store = RemoteStore(url, token=token, spool_dir=work / "spool")
    client = Client(Settings(None, url, str(work / "objects")), store=store)
    rec = TraceRecorder(client, queue_size=total + 1, batch_size=1000, interval=0.05)
    started = time.perf_counter()
    for i in range(total):
        rec.trace(
            f"bench-{i % 4}", "chat@production", "kb@1", trace_id=f"rec-{i}", retrieved=_CHUNKS, **_FACTS
        )
    stats = rec.flush(timeout=600)
    seconds = time.perf_counter() - started
    rec.close()
    client.close()
    return total / seconds, stats


_APP = "mlineage-bench-serving"


def _cpu_seconds(pids: set[int]) -> dict[int, float]:
    """User + system CPU time of each live process in ``pids`` (``/proc``; empty elsewhere)."""
    out = {}
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _backends() -> set[int]:
    """The PostgreSQL backends serving the bench's server (tagged by ``application_name``)."""
    import psycopg

    with psycopg.connect(PG, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", (_APP,))
        return {int(r[0]) for r in rows}


class _Cpu:
    """CPU time the server process and its PostgreSQL backends spend on a load, per trace: the figure a
    shared machine's load average does not distort as it does a wall-clock rate (backends that close during
    the load are not counted, so the PostgreSQL figure is a lower bound)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.pg_pids = _backends()
        self.server0 = _cpu_seconds({pid}).get(pid, 0.0)
        self.pg0 = _cpu_seconds(self.pg_pids)

    def per_trace_us(self, traces: int) -> tuple[float, float]:
        server = _cpu_seconds({self.pid}).get(self.pid, 0.0) - self.server0
        pids = self.pg_pids | _backends()
        now = _cpu_seconds(pids)
        pg = sum(now[p] - self.pg0.get(p, 0.0) for p in now)
        return server / traces * 1e6, pg / traces * 1e6


def _register(url: str, token: str) -> None:
    from mlineage.config import Settings
    from mlineage.sdk.client import Client
    from mlineage.stores.remote import RemoteStore

    work = workdir("serving-remote")
    (work / "chat.bin").write_text("chat weights\n")
    client = Client(
        Settings(None, url, str(work / "objects")),
        store=RemoteStore(url, token=token, spool_dir=work / "spool"),
    )
    client.register_model(str(work / "chat.bin"), "chat")
    client.set_alias("chat", "production", "@1")
    client.close()


def run(quick: bool) -> list[Result]:
    calls = 20_000 if quick else 100_000
    total = 10_000 if quick else 50_000
    clients, size = 4, 500
    out: list[Result] = []
    p50, p99, stats = _ours(calls)
    peer = _otel(calls)
    written = stats["recorded"] == calls + 200 and stats["dropped"] == 0
    out.append(
        Result(
            f"trace_request on the caller's thread, p50 ({calls:,} calls; all written: {written})",
            p50,
            "OpenTelemetry SDK span, BatchSpanProcessor",
            None if peer is None else peer[0],
            "µs",
            False,
            f"< {GOAL_P50_US:g} µs",
            p50 < GOAL_P50_US,
        )
    )
    out.append(
        Result(
            "trace_request on the caller's thread, p99",
            p99,
            "OpenTelemetry SDK span, BatchSpanProcessor",
            None if peer is None else peer[1],
            "µs",
            False,
            f"< {GOAL_P99_US:g} µs",
            p99 < GOAL_P99_US,
        )
    )
    with _pg_schema() as schema_uri, _server(f"{schema_uri}&application_name={_APP}") as (url, token, pid):
        _register(url, token)
        cpu = _Cpu(pid)
        tps = _http_ingest(url, token, total, clients, size)
        http_cpu = cpu.per_trace_us(total)
        out.append(
            Result(
                f"trace ingest, HTTP endpoint, {clients} clients x batches of {size}, PostgreSQL "
                f"({total:,} traces)",
                tps,
                "-",
                None,
                "traces/s",
                True,
                f">= {GOAL_TPS:,.0f} traces/s",
                tps >= GOAL_TPS,
            )
        )
        cpu = _Cpu(pid)
        tps, rstats = _recorder_ingest(url, token, total)
        recorder_cpu = cpu.per_trace_us(total)
        ok = rstats["recorded"] == total and rstats["failed"] == rstats["rejected"] == 0
        out.append(
            Result(
                f"trace ingest, trace_request -> remote Client -> server, PostgreSQL ({total:,} traces; "
                f"all written: {ok})",
                tps,
                "-",
                None,
                "traces/s",
                True,
                f">= {GOAL_TPS:,.0f} traces/s",
                tps >= GOAL_TPS,
            )
        )
    for path, (server_us, pg_us) in (("HTTP endpoint", http_cpu), ("remote Client", recorder_cpu)):
        out.append(
            Result(
                f"trace ingest, {path}: server process CPU per trace (PostgreSQL backends: {pg_us:.0f} µs, "
                "at least)",
                server_us,
                "-",
                None,
                "µs",
                False,
                f"< {1e6 / GOAL_TPS:g} µs ({GOAL_TPS:,.0f}/s on one core)",
                server_us < 1e6 / GOAL_TPS,
            )
        )
    return out
