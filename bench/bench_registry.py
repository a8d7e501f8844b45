"""The model registry and incident response (issue 18), on an embedded SQLite store built through real ledger
appends:

* ``incident impact``: a bad dataset with 10,000 descendants (2,500 feature runs each producing a feature set,
  2,500 training runs each producing a model from one; quick: 2,000), 20 registered versions of which 10
  descend from it, aliases and deployments. ``Client.incident_impact`` on a warm engine, best of 5. The peer
  is the naive way: one ``Client.path`` query from the dataset per registered version. Goal: < 200 ms.
* ``rollback --excluding``: 1,000 registered versions (quick: 200), each trained on its own dataset, the
  newest 100 (quick: 20) also on the bad one; ``Client.rollback_alias`` lands on the newest clean version,
  naming the 100 skipped with their paths. Best of 5, the alias put back between tries (not timed). The peer
  is the naive way: one ``Client.path`` query per version the rollback looks at (101). Goal: < 500 ms.
* Alias resolution: ``Client.resolve("ranker@production")`` on the 1,000-version store (the digest a run
  records), mean over 200 calls, against MLflow's ``MlflowClient.get_model_version_by_alias`` on a temporary
  SQLite tracking store with one registered model of 10 versions, in the same process.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
import uuid
from typing import Any

from bench.harness import Result, best_of, workdir

TS = "2026-01-01T00:00:00.000000Z"


def _digest(tag: str) -> str:
    return "sha256:" + hashlib.sha256(tag.encode()).hexdigest()


class Writer:
    """Batches of ledger events through the Client (the one append pipeline)."""

    def __init__(self, client: Any) -> None:
        from mlineage.events import NewEvent

        self.client, self.new, self.batch = client, NewEvent, []  # type: ignore[var-annotated]

    def add(self, type_: str, payload: dict[str, Any]) -> None:
        self.batch.append(self.new(type_, payload))
        if len(self.batch) >= 5000:
            self.flush()

    def flush(self) -> None:
        if self.batch:
            self.client.append(self.batch)
            self.batch = []

    def artifact(self, digest: str, name: str, kind: str = "dataset") -> str:
        self.add("ArtifactRecorded", {"digest": digest, "kind": kind, "name": name})
        return digest

    def run(self, job: str, kind: str, used: list[str], produced: list[str]) -> None:
        run_id = uuid.uuid4().hex
        self.add("RunStarted", {"run_id": run_id, "job": job, "kind": kind})
        for d in used:
            self.add("ArtifactUsed", {"run_id": run_id, "digest": d})
        for d in produced:
            self.add("ArtifactProduced", {"run_id": run_id, "digest": d})
        self.add("RunEnded", {"run_id": run_id, "status": "completed"})


def _client(name: str) -> Any:
    from mlineage.sdk.client import Client

    folder = workdir("registry") / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return Client.for_uri(f"sqlite:///{folder / 'store.db'}", folder / "objects")


def _register(client: Any, w: Writer, name: str, digests: list[str]) -> None:
    """Register ``digests`` as NAME@1..N in one batch (the projection checks each is the next version)."""
    for i, d in enumerate(digests, 1):
        w.add("ModelRegistered", {"name": name, "version": i, "digest": d})
    w.flush()


def impact_store(descendants: int) -> tuple[Any, str, str]:
    client = _client("impact")
    w = Writer(client)
    bad = w.artifact(_digest("bad"), "transactions-april")
    ok = w.artifact(_digest("ok"), "transactions-march")
    chains = descendants // 4
    models = []
    for i in range(chains):
        features = w.artifact(_digest(f"features-{i}"), f"features-{i}")
        w.run(f"features-{i}", "transform", [bad], [features])
        model = w.artifact(_digest(f"model-{i}"), f"model-{i}", "model")
        w.run(f"train-{i}", "train", [features], [model])
        models.append(model)
    clean = []
    for i in range(10):
        model = w.artifact(_digest(f"clean-{i}"), f"clean-{i}", "model")
        w.run(f"train-clean-{i}", "train", [ok], [model])
        clean.append(model)
    _register(client, w, "fraud", clean[:5] + models[:10] + clean[5:])
    client.set_alias("fraud", "production", "@15")
    client.deploy("fraud@production", "payments-scoring", "prod")
    client.set_alias("fraud", "staging", "@20")
    opened = client.open_incident(bad, reason="negative amounts")
    return client, opened["id"], bad


def rollback_store(versions: int, tainted: int) -> tuple[Any, str]:
    client = _client("rollback")
    w = Writer(client)
    bad = w.artifact(_digest("bad"), "bad-extract")
    models = []
    for i in range(versions):
        data = w.artifact(_digest(f"data-{i}"), f"data-{i}")
        model = w.artifact(_digest(f"ranker-{i}"), f"ranker-{i}", "model")
        w.run(f"train-{i}", "train", [data, bad] if i >= versions - tainted else [data], [model])
        models.append(model)
    _register(client, w, "ranker", models)
    client.set_alias("ranker", "production", f"@{versions}")
    return client, bad


def naive(client: Any, bad: str, versions: list[dict[str, Any]]) -> int:
    """The obvious way (and this module's first one): one path query from the bad artifact per version."""
    from mlineage.registry.service import tainted_by

    node = client.artifact(bad)
    return sum(tainted_by(client, node, v["digest"]) is not None for v in versions)


def mlflow_alias_lookup(calls: int) -> float:
    """Mean seconds per ``get_model_version_by_alias`` on a temporary SQLite tracking store."""
    import warnings

    warnings.simplefilter("ignore")
    from mlflow.tracking import MlflowClient

    tmp = tempfile.mkdtemp(prefix="mlflow-registry-")
    try:
        uri = f"sqlite:///{tmp}/mlflow.db"
        mc = MlflowClient(tracking_uri=uri, registry_uri=uri)
        mc.create_registered_model("ranker")
        for i in range(10):
            mc.create_model_version("ranker", source=f"{tmp}/model-{i}", run_id=None)
        mc.set_registered_model_alias("ranker", "production", "10")
        mc.get_model_version_by_alias("ranker", "production")  # warm
        started = time.perf_counter()
        for _ in range(calls):
            mc.get_model_version_by_alias("ranker", "production")
        return (time.perf_counter() - started) / calls
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(quick: bool) -> list[Result]:
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    descendants = 2_000 if quick else 10_000
    versions, tainted = (200, 20) if quick else (1_000, 100)
    results = []

    client, incident_id, bad = impact_store(descendants)
    try:
        hit = client.incident_impact(incident_id)  # warm the engine's snapshot
        assert [v["version"] for v in hit["versions"]] == list(range(6, 16)), hit["versions"]
        assert client.impact(bad).count == descendants + 1  # and the deploy run of @15
        ours = best_of(lambda: client.incident_impact(incident_id))
        walk = best_of(lambda: naive(client, bad, client.model_versions("fraud")), repeat=3)
    finally:
        client.close()
    results.append(Result(f"incident impact, {descendants:,} descendants", ours * 1000,
                          "a path query per version", walk * 1000, "ms", False, "< 200 ms", ours < 0.2))

    client, bad = rollback_store(versions, tainted)
    try:
        def once() -> None:
            move = client.rollback_alias("ranker", "production", bad)
            assert move["to"] == versions - tainted and len(move["skipped"]) == tainted, move["to"]

        times = []
        for _ in range(5):
            started = time.perf_counter()
            once()
            times.append(time.perf_counter() - started)
            client.set_alias("ranker", "production", f"@{versions}")  # put back, not timed
        ours = min(times)
        checked = client.model_versions("ranker")[-(tainted + 1):]  # what the rollback looks at
        one_path = best_of(lambda: naive(client, bad, checked), repeat=3)
        calls = 200
        client.resolve("ranker@production")
        started = time.perf_counter()
        for _ in range(calls):
            client.resolve("ranker@production")
        resolve = (time.perf_counter() - started) / calls
    finally:
        client.close()
    results.append(Result(f"rollback --excluding, {versions:,} versions ({tainted} skipped)", ours * 1000,
                          "a path query per version", one_path * 1000, "ms", False, "< 500 ms", ours < 0.5))
    import mlflow

    peer = mlflow_alias_lookup(calls)
    results.append(Result("alias resolution (NAME@production -> digest)", resolve * 1000,
                          f"MLflow {mlflow.__version__} get_model_version_by_alias (SQLite)", peer * 1000,
                          "ms/call", False, "compare", None))
    return results


if __name__ == "__main__":
    for r in run(os.environ.get("MLINEAGE_BENCH_QUICK") == "1"):
        print(r)

