"""Run under a Python that has MLflow: import an MLflow store into an mlineage store twice and print what the
test checks, as JSON. ``python mlflow_probe.py TRACKING_URI STORE_URI BLOBS``. For a SQLite store it also
reads the runs and histories both ways, from the tables and through MlflowClient, and says whether they
agree."""

from __future__ import annotations

import json
import sys
import warnings

warnings.simplefilter("ignore")


def sql_and_client_agree(tracking: str) -> bool:
    """The SQLite reader's runs and metric histories are what ``search_runs`` and ``get_metric_history``
    give for the same store."""
    from mlflow.entities import ViewType

    from mlineage.importers.mlflow_source import Reader, listed

    reader = Reader(tracking)
    by_sql = [run for page in reader.pages() for run in page]
    by_client = [listed(run) for run in reader.client.search_runs(
        list(reader.experiments), run_view_type=ViewType.ALL, max_results=1000)]
    by_client.sort(key=lambda r: (r.start_time or 0, r.run_id))
    histories = {k: sorted(v) for k, v in reader.histories(by_sql).items()}
    expected = {(r.run_id, key): sorted((m.step, m.value, m.timestamp)
                                        for m in reader.client.get_metric_history(r.run_id, key))
                for r in by_client for key in r.latest}
    return bool(by_sql) and by_sql == by_client and histories == expected


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
    agree = sql_and_client_agree(tracking) if tracking.startswith("sqlite:///") else None
    print(json.dumps({"first": first, "second": second, "forced": forced, "runs": runs, "versions": versions,
                      "aliases": aliases, "head": client.store.head()[0], "sql_and_client_agree": agree}))
    client.close()


if __name__ == "__main__":
    main(*sys.argv[1:4])
