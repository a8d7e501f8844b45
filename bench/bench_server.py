"""Team server: ingestion throughput over HTTP into PostgreSQL (hash chain included), and trace latency under
16 concurrent clients. No peer is named for these: each figure is reported against the issue's goal.

Run: ``python -m bench server`` (``MLINEAGE_BENCH_QUICK=1`` for a small run; ``MLINEAGE_BENCH_SERVER=trace``
for the trace load alone, old path and cached side by side). Needs the local PostgreSQL
(``MLINEAGE_BENCH_PG``, default postgresql://postgres@127.0.0.1:5432/test); a fresh schema is made and
dropped.
"""

from __future__ import annotations

import hashlib
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from .harness import Result, workdir

PG = os.environ.get("MLINEAGE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
GOAL_EPS = 2000.0
GOAL_P99_MS = 300.0


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _ev(type_: str, **payload: Any) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "type": type_, "payload": payload}


def pipeline_events(tag: str, runs: int) -> list[dict[str, Any]]:
    """A chain: data0 -> run0 -> data1 -> run1 -> ... (5 events per run: the usual mix of a tracked step)."""
    out = [_ev("ArtifactRecorded", digest=_digest(f"{tag}-0"), kind="dataset", name=f"{tag}-data")]
    for r in range(runs):
        run_id = f"{tag}-r{r}"
        out += [
            _ev("RunStarted", run_id=run_id, job=f"{tag}-step", kind="transform", params={"i": r}),
            _ev("ArtifactUsed", run_id=run_id, digest=_digest(f"{tag}-{r}")),
            _ev("ArtifactRecorded", digest=_digest(f"{tag}-{r + 1}"), kind="dataset", name=f"{tag}-data"),
            _ev("ArtifactProduced", run_id=run_id, digest=_digest(f"{tag}-{r + 1}")),
            _ev("RunEnded", run_id=run_id, status="completed"),
        ]
    return out


@contextmanager
def _pg_schema() -> Iterator[str]:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextmanager
def _server(store_uri: str, workers: int = 1, env: dict[str, str] | None = None
            ) -> Iterator[tuple[str, str, int]]:
    """A server on a free port: yields its URL, an admin token and its process id."""
    import httpx

    from mlineage.server.auth import TokenStore
    from mlineage.stores.sql import SqlStore

    store = SqlStore(store_uri)
    token = TokenStore(store.engine).create("bench", "admin", "*")[0]
    store.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    work = workdir("server")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlineage.cli.main",
            "server",
            "--store",
            store_uri,
            "--artifacts",
            str(work / "objects"),
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url, token, proc.pid
    finally:
        proc.terminate()
        proc.wait()


def _post_all(
    url: str, token: str, batches: list[list[list[dict[str, Any]]]], clients: int, wait: bool
) -> float:
    """``batches``: per pipeline, its batches in order. A pipeline stays on one client (its events depend on
    each other); pipelines are spread over the clients."""
    import httpx

    def send(chunk: list[list[list[dict[str, Any]]]]) -> None:
        with httpx.Client(base_url=url + "/api/v1", headers={"Authorization": f"Bearer {token}"},
                          timeout=300) as c:
            for b in (b for pipeline in chunk for b in pipeline):
                r = c.post("/events/batch", json={"events": b}, params=None if wait else {"wait": "false"})
                r.raise_for_status()

    shares = [batches[i::clients] for i in range(clients)]
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, shares))
    return time.perf_counter() - started


def _drain(url: str, token: str) -> None:
    import httpx

    with httpx.Client(
        base_url=url + "/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as c:
        while c.get("/ingestion").json()["pending"]:
            time.sleep(0.05)


def _batches(tag: str, pipelines: int, runs: int, size: int) -> tuple[list[list[list[dict[str, Any]]]], int]:
    """Each pipeline's events in order, cut into batches; pipelines are independent, so clients can
    interleave."""
    batches = []
    total = 0
    for p in range(pipelines):
        events = pipeline_events(f"{tag}{p}", runs)
        total += len(events)
        batches.append([events[i:i + size] for i in range(0, len(events), size)])
    return batches, total


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a server process and its children (the ``--workers`` processes)."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        times = proc.cpu_times()
        total += times.user + times.system
    return total


def _trace_latency(url: str, token: str, pid: int, leaf: str, per_client: int, label: str
                   ) -> tuple[list[Result], float]:
    """16 concurrent clients tracing the end of a long pipeline: p50 and p99 of the request time, the
    throughput (requests per second over the concurrent phase, also returned) and the server's CPU time per
    request (what the server spends, whatever else the machine is doing)."""
    import http.client
    from urllib.parse import quote, urlsplit

    import httpx

    where = urlsplit(url)
    target = f"/api/v1/trace?ref={quote(leaf)}"
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"}

    def tracer(_: int) -> list[float]:
        # The clients share the machine's cores with the server: the cheapest client there is (one kept-alive
        # connection, the body read and not decoded), so that what is measured is the server.
        times = []
        conn = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=300)
        try:
            for _i in range(per_client):
                t = time.perf_counter()
                conn.request("GET", target, headers=headers)
                response = conn.getresponse()
                body = response.read()
                times.append(time.perf_counter() - t)
                if response.status != 200 or not body:
                    raise RuntimeError(f"trace answered {response.status}: {body[:200]!r}")
        finally:
            conn.close()
        return times

    with httpx.Client(
        base_url=url + "/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=300
    ) as c:
        for _ in range(4):  # warm each process's graph snapshot
            nodes = c.get("/trace", params={"ref": leaf}).json()["count"]
    latencies: list[float] = []
    cpu = _cpu_seconds(pid)
    started = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        for times in pool.map(tracer, range(16)):
            latencies += times
    rate = len(latencies) / (time.perf_counter() - started)
    cpu_ms = (_cpu_seconds(pid) - cpu) / len(latencies) * 1000
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    name = f"trace over HTTP ({nodes} ancestors), 16 concurrent clients, {label}"
    return [
        Result(f"{name}, p50", p50, "-", None, "ms", False, "report", None),
        Result(
            f"{name}, p99",
            p99,
            "-",
            None,
            "ms",
            False,
            "<= 300 ms" if "cache on" in label else "report",
            p99 <= GOAL_P99_MS if "cache on" in label else None,
        ),
        Result(f"{name}, throughput", rate, "-", None, "requests/s", True, "report", None),
        Result(f"{name}, server CPU per request", cpu_ms, "-", None, "ms", False, "report", None),
    ], rate


def trace_under_load(store_uri: str, leaf: str, per_client: int) -> list[Result]:
    """The same trace load on two server processes, first computing every answer (the query cache off:
    ``MLINEAGE_SERVER_QUERY_CACHE=0``), then with answers cached by ledger head; throughput compared."""
    out: list[Result] = []
    rates = {}
    for cache, label in (("0", "2 server processes, query cache off"), ("1", "2 server processes, cache on")):
        with _server(store_uri, workers=2, env={"MLINEAGE_SERVER_QUERY_CACHE": cache}) as (url, token, pid):
            results, rates[cache] = _trace_latency(url, token, pid, leaf, per_client, label)
            out += results
    gain = rates["1"] / rates["0"]
    out.append(
        Result(
            "trace under 16 concurrent clients: throughput, cache on / off",
            gain,
            "-",
            None,
            "x",
            True,
            ">= 2x",
            gain >= 2.0,
        )
    )
    return out


def _load(store_uri: str, tag: str, runs: int) -> None:
    """One pipeline appended straight into the store (what the trace load reads)."""
    from mlineage.events import NewEvent
    from mlineage.stores.sql import SqlStore

    store = SqlStore(store_uri)
    try:
        events = pipeline_events(tag, runs)
        for start in range(0, len(events), 500):
            store.append([NewEvent(e["type"], e["payload"], e["id"]) for e in events[start:start + 500]])
    finally:
        store.close()


def run(quick: bool) -> list[Result]:
    pipelines, runs, size, clients = (4, 100, 500, 4) if quick else (8, 250, 500, 4)
    per_client = 10 if quick else 25
    leaf = _digest(f"sync0-{runs}")
    out: list[Result] = []
    if os.environ.get("MLINEAGE_BENCH_SERVER") == "trace":  # the read path alone (ingestion is skipped)
        with _pg_schema() as store_uri:
            _load(store_uri, "sync0", runs)
            return trace_under_load(store_uri, leaf, per_client)
    with _pg_schema() as store_uri:
        with _server(store_uri) as (url, token, pid):
            # 1. synchronous: each batch is validated, chained and projected before the response
            batches, total = _batches("sync", pipelines, runs, size)
            seconds = _post_all(url, token, batches, clients, wait=True)
            eps = total / seconds
            out.append(
                Result(
                    f"HTTP ingest, sync batches of {size}, {clients} clients, PostgreSQL ({total} events)",
                    eps,
                    "-",
                    None,
                    "events/s",
                    True,
                    f">= {GOAL_EPS:,.0f} events/s",
                    eps >= GOAL_EPS,
                )
            )
            # 2. queued: accepted durably (202), chained and projected by the worker; until the lag is 0
            batches, total = _batches("async", pipelines, runs, size)
            started = time.perf_counter()
            accepted_s = _post_all(url, token, batches, clients, wait=False)
            _drain(url, token)
            end_to_end = time.perf_counter() - started
            out.append(Result(f"HTTP ingest, queued (202) accept rate, {clients} clients ({total} events)",
                              total / accepted_s, "-", None, "events/s", True, f">= {GOAL_EPS:,.0f} events/s",
                              total / accepted_s >= GOAL_EPS))
            out.append(
                Result(
                    "HTTP ingest, queued, until chained + projected (lag 0)",
                    total / end_to_end,
                    "-",
                    None,
                    "events/s",
                    True,
                    f">= {GOAL_EPS:,.0f} events/s",
                    total / end_to_end >= GOAL_EPS,
                )
            )
            # 3. trace latency, one server process
            out += _trace_latency(url, token, pid, leaf, per_client, "1 server process")[0]
        # 4. the same load on two processes, without and with the query cache
        out += trace_under_load(store_uri, leaf, per_client)
    return out
