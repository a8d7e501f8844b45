"""Run under a Python that has MLflow (the bench venv): import an MLflow store into an mlineage store twice
and print what the test checks, as JSON. ``python mlflow_probe.py TRACKING_URI STORE_URI BLOBS``."""

from __future__ import annotations

import json
import sys
import warnings

warnings.simplefilter("ignore")


def main(tracking: str, store: str, blobs: str) -> None:
    from mlineage.errors import MlineageError
    from mlineage.sdk.client import Client

    client = Client.for_uri(store, blobs)
    try:
        first = client.import_mlflow(tracking).to_dict()
    except MlineageError as exc:
        print(json.dumps({"error": str(exc)}))
        return
    second = client.import_mlflow(tracking).to_dict()
    forced = client.import_mlflow(tracking, force=True).to_dict()
    runs = []
    for run in client.store.list_runs(1000):
        inputs, outputs = client.store.io_of_run(run.id)
        runs.append({"id": run.id, "job": run.job, "status": run.status.value, "params": run.params,
                     "metrics": run.metrics, "error": run.error, "context": run.context,
                     "history": {k: len(client.store.metric_history(run.id, k)) for k in run.metrics},
                     "inputs": [(a.kind.value, a.name, role, a.metadata) for a, role in inputs],
                     "outputs": [(a.kind.value, a.name, role, str(a.digest), a.metadata)
                                 for a, role in outputs]})
    versions = [(v.artifact.version, str(v.artifact.digest))
                for v in client.store.list_versions("churn-model")]
    aliases = [e.payload for e in client.store.iter_events() if e.type == "RegistryAliasImported"]
    print(json.dumps({"first": first, "second": second, "forced": forced, "runs": runs, "versions": versions,
                      "aliases": aliases, "head": client.store.head()[0]}))
    client.close()


if __name__ == "__main__":
    main(*sys.argv[1:4])
