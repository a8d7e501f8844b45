"""Quality gates: PII scan throughput, licence propagation over the largest ancestry of the graph benchmark's
million-node graph, and ``mlineage check`` of a model with ten gates, end to end.

* PII scan: a 1M-row, 10-column CSV (quick: 100k rows) of customer-like records, some cells holding e-mail
  addresses, phone numbers, IPs and, rarely, card numbers; mlineage reads it with PyArrow and scans every
  column for every kind. The peer is reading the same file with PyArrow alone (the floor: a scan cannot be
  faster than the read it starts with). MB/s of CSV, and the ratio.
* Licence propagation: the graph benchmark's store and generator (``bench_graph``: a 1M-node random DAG,
  quick: 50k), licences on 1,000 of its nodes; the report for the deepest node's ancestry (the largest one)
  on a warm engine. The peer is scipy's breadth-first search of the same ancestry alone. Goal: < 200 ms.
* ``mlineage check``: a project with a training set (10k rows), a model trained on it, evaluation runs of the
  model and of the one in production, licences and a policy of ten gates; ``mlineage check MODEL DATASET``
  as a user runs it, a fresh process each time. The peer is ``mlineage show MODEL --json`` (start-up plus
  one read: what any command costs). Goal: < 1 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench.harness import REPO, Result, best_of, workdir

CHECK_POLICY = """version: 1
intended_use: commercial
gates:
  - {gate: licence, for: {kind: model}, notify: owner}
  - {gate: licence, name: no-copyleft, for: {kind: model}, share_alike: forbid, action: warn}
  - {gate: auditability, for: {kind: model}}
  - {gate: reproducibility, for: {kind: model}, action: warn}
  - gate: release
    for: {kind: model}
    current: classifier@1
    metrics:
      accuracy: {direction: higher, max_regression: 0.01}
  - {gate: freshness, for: {kind: model}, error_after: {count: 30, period: day}}
  - gate: schema
    for: {name: train.csv}
    columns:
      id: {type: int64, nullable: false, unique: true}
      label: {type: int64, allowed: [0, 1]}
      x: {type: float64, min: -10, max: 10}
  - {gate: pins, for: {name: train.csv}, min_rows: 1000}
  - {gate: privacy, for: {name: train.csv}, sample_rows: 5000}
  - {gate: freshness, name: train-freshness, for: {name: train.csv}, loaded_at: loaded_at,
     warn_after: {count: 1, period: day}, error_after: {count: 3650, period: day}}
"""


# ---------------------------------------------------------------- PII scan


def _pii_csv(rows: int) -> Path:
    path = workdir("gates") / f"customers-{rows}.csv"
    if path.exists():
        return path
    rng = np.random.default_rng(3)
    ids = np.arange(rows)
    first = np.array(["ana", "ben", "chen", "dara", "eli", "fay", "gus", "hana"])[rng.integers(0, 8, rows)]
    cities = np.array(["Berlin", "Lyon", "Austin", "Osaka", "Lagos"])[rng.integers(0, 5, rows)]
    amount = np.round(rng.random(rows) * 1000, 2)
    octets = rng.integers(1, 255, (rows, 4))
    phone_rows = rng.random(rows) < 0.01
    card_rows = rng.random(rows) < 0.001
    with path.open("w") as out:
        out.write("id,name,email,phone,country,note,amount,created,ip,city\n")
        for i in range(rows):
            phone = f"+1 415-555-{i % 10000:04d}" if phone_rows[i] else "none"
            note = "paid by card 4111 1111 1111 1111" if card_rows[i] else f"order {i} shipped"
            ip = ".".join(str(o) for o in octets[i])
            out.write(
                f"{ids[i]},{first[i]},{first[i]}{i}@example.com,{phone},DE,{note},{amount[i]},"
                f"2026-11-{1 + i % 28:02d},{ip},{cities[i]}\n"
            )
    return path


def _pii(quick: bool) -> list[Result]:
    from pyarrow import csv

    from mlineage.gates.pii import Scanner, scan_table

    rows = 100_000 if quick else 1_000_000
    path = _pii_csv(rows)
    megabytes = path.stat().st_size / 1e6
    scanner = Scanner(("card", "iban", "email", "phone", "ip"), ("US",))

    def read() -> object:
        return csv.read_csv(path)

    def scan() -> object:
        return scan_table(csv.read_csv(path), scanner)

    findings = scan_table(csv.read_csv(path), scanner)[0]
    assert {f.kind for f in findings} >= {"email", "phone", "ip", "card"}, findings
    peer = best_of(read, 3)
    ours = best_of(scan, 1 if not quick else 2)
    return [
        Result(
            f"PII scan, {rows:,}-row 10-column CSV ({megabytes:.0f} MB), read + scan",
            megabytes / ours,
            "PyArrow read_csv alone",
            megabytes / peer,
            "MB/s",
            True,
            "report MB/s and the ratio",
            None,
        )
    ]


# ---------------------------------------------------------------- licence propagation


def _licences(quick: bool) -> list[Result]:
    from scipy.sparse.csgraph import breadth_first_order

    from bench import bench_graph, graphgen
    from mlineage.gates.facts import SqlFacts
    from mlineage.gates.propagation import licence_report
    from mlineage.graph import GraphEngine
    from mlineage.graph.engine import CACHE_ENV
    from mlineage.model import Artifact

    n, chain = bench_graph._sizes(quick)
    store = bench_graph._open("sqlite", n, chain)
    setup, generated = bench_graph._prepare(store, n, chain)
    if generated is not None:
        print(f"  generated {n:,} + {chain:,}-chain nodes in {generated:.1f} s")
    rng = np.random.default_rng(5)
    kinds = ["cc-by-nc-4.0", "MIT", "CC-BY-SA-4.0", "Apache-2.0", "openrail"]
    nodes = [("rnd", int(i), setup.first_random + int(i)) for i in rng.choice(n, 1000, replace=False)]
    nodes += [("chain", int(i), setup.first_chain + int(i)) for i in rng.choice(chain, 100, replace=False)]
    rows = [
        (graphgen.digest_of(tag, i), kinds[j % len(kinds)], 1, node) for j, (tag, i, node) in enumerate(nodes)
    ]
    with store.engine.begin() as conn:  # rows behind the ledger, like the generator's (a store for queries)
        conn.exec_driver_sql("DELETE FROM artifact_licences")
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.cursor().executemany(
            "INSERT INTO artifact_licences (digest, licence, seq, node_id) VALUES (?, ?, ?, ?)", rows
        )
    os.environ[CACHE_ENV] = str(workdir("graph") / "cache-sqlite")
    engine = GraphEngine(store, "memory")
    snap = engine.snapshot()
    facts = SqlFacts(store)
    results = []
    for title, tag, index, node in (
        ("the chain's end (the largest ancestry)", "chain", chain - 1, setup.first_chain + chain - 1),
        ("the deepest random node", "rnd", n - 1, setup.first_random + n - 1),
    ):
        artifact = store.get_artifact(graphgen.digest_of(tag, index))
        assert isinstance(artifact, Artifact)
        report = licence_report(engine, store, facts, artifact)
        matrix = snap.matrix("up", None)
        peer = best_of(
            lambda m=matrix, v=node: breadth_first_order(m, v, directed=True, return_predecessors=True), 5
        )
        ours = best_of(lambda: licence_report(engine, store, facts, artifact), 5)  # noqa: B023
        results.append(
            Result(
                f"licence propagation from {title}: {report.ancestors:,} ancestors, "
                f"{len(report.obligations)} licensed, {n + chain:,}-node graph",
                ours * 1000,
                "scipy BFS of the same ancestry",
                peer * 1000,
                "ms",
                False,
                "< 200 ms",
                ours < 0.2,
            )
        )
    store.close()
    return results


# ---------------------------------------------------------------- mlineage check end to end


def _project() -> tuple[Path, dict[str, str]]:
    root = workdir("gates") / "check-project"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLINEAGE_")}
    env["PYTHONPATH"] = str(REPO / "src")
    # as installed: mlineage's modules compiled once, not on every start (a development shell may say not to)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if (root / "mlineage.policy.yaml").exists():
        return root, env
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    lines = ["id,label,x,loaded_at"] + [
        f"{i},{i % 2},{rng.normal():.4f},2026-12-01T00:00:00Z" for i in range(10_000)
    ]
    (root / "train.csv").write_text("\n".join(lines) + "\n")
    (root / "eval.csv").write_text("id,label\n1,0\n2,1\n")
    script = """
import mlineage
from mlineage import events as ev
from mlineage.config import init_project
from mlineage.events import NewEvent
from pathlib import Path
init_project(Path("."))
c = mlineage.Client()
train = c.record_artifact("train.csv", kind="dataset", name="train.csv")
evalset = c.record_artifact("eval.csv", kind="dataset", name="eval.csv")
c.record_licence(train, "CC-BY-4.0")
c.record_source(train, "https://example.org/train")
c.record_source(evalset, "https://example.org/eval")
models = []
for v in (1, 2):
    Path("model.bin").write_text(f"weights {v}\\n")
    m = c.record_artifact("model.bin", kind="model", name="classifier")
    rid = f"train-{v}"
    c.append([NewEvent(ev.RUN_STARTED, {"run_id": rid, "job": "train", "kind": "train",
                                        "context": {"git": {"commit": "abc"}, "packages": {"numpy": "2"}}}),
              NewEvent(ev.ARTIFACT_USED, {"run_id": rid, "digest": str(train.digest)}),
              NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": rid, "digest": str(m.digest)}),
              NewEvent(ev.RUN_ENDED, {"run_id": rid, "status": "completed"})])
    for seed in range(3):
        rid = f"eval-{v}-{seed}"
        c.append([NewEvent(ev.RUN_STARTED, {"run_id": rid, "job": "eval", "kind": "evaluate",
                                            "params": {"seed": seed}}),
                  NewEvent(ev.ARTIFACT_USED, {"run_id": rid, "digest": str(m.digest)}),
                  NewEvent(ev.ARTIFACT_USED, {"run_id": rid, "digest": str(evalset.digest)}),
                  NewEvent(ev.METRICS_LOGGED, {"run_id": rid, "metrics": [
                      {"key": "accuracy", "value": 0.8 + 0.01 * v + 0.001 * seed, "step": 0}]}),
                  NewEvent(ev.RUN_ENDED, {"run_id": rid, "status": "completed"})])
c.set_owner("classifier", "ml-team")
"""
    subprocess.run([sys.executable, "-c", script], cwd=root, env=env, check=True)
    (root / "mlineage.policy.yaml").write_text(CHECK_POLICY)
    return root, env


def _check(quick: bool) -> list[Result]:
    root, env = _project()
    cli = [sys.executable, "-m", "mlineage.cli.main"]

    def check() -> None:
        done = subprocess.run(
            [*cli, "check", "classifier@2", "train.csv", "--json"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def show() -> None:
        subprocess.run(
            [*cli, "show", "classifier@2", "--json"], cwd=root, env=env, capture_output=True, check=True
        )

    check()  # warm the file cache; also checks the ten gates pass
    ours = best_of(check, 2 if quick else 5)
    peer = best_of(show, 2 if quick else 5)
    return [
        Result(
            "`mlineage check` of a model and its data, 10 gates, end to end",
            ours * 1000,
            "`mlineage show MODEL --json`",
            peer * 1000,
            "ms",
            False,
            "< 1 s",
            ours < 1.0,
        )
    ]


def run(quick: bool) -> list[Result]:
    started = time.perf_counter()
    results = _pii(quick) + _licences(quick) + _check(quick)
    print(f"  gates benchmark took {time.perf_counter() - started:.0f} s")
    return results
