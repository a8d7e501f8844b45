"""Write a real MLflow tracking store with MLflow itself (run under the bench venv, which has MLflow).

``python bench/mlflow_store.py URI --runs N --params P --values V [--rich]``: N runs in one experiment, each
with P params and one metric of V steps. ``--rich`` adds what the importer maps besides (a failed run, a
dataset input, an artifact file, a logged model, a registered model with two versions and an alias), for
tests. Bulk runs are written with ``log_batch`` (one call per run), as a training loop that batches would.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("uri")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--params", type=int, default=3)
    parser.add_argument("--values", type=int, default=5)
    parser.add_argument("--rich", action="store_true")
    parser.add_argument("--artifacts", default=None, help="artifact root for a sqlite store")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    import mlflow
    from mlflow.entities import Metric, Param, RunStatus
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(args.uri)
    mlflow.set_registry_uri(args.uri)
    client = MlflowClient(args.uri, args.uri)
    kwargs = {"artifact_location": args.artifacts} if args.artifacts else {}
    exp = client.create_experiment("churn", **kwargs)
    for i in range(args.runs):
        run = client.create_run(exp, run_name=f"run-{i}", start_time=1_700_000_000_000 + i * 1000)
        rid = run.info.run_id
        params = [Param(f"p{j}", str(i * 10 + j)) for j in range(args.params)]
        metrics = [Metric("loss", 1.0 / (s + 3) + i * 1e-4 + 1e-7, 1_700_000_000_000 + s, s)
                   for s in range(args.values)]
        for start in range(0, len(metrics), 1000):
            client.log_batch(rid, metrics=metrics[start:start + 1000], params=params if start == 0 else [])
        client.set_terminated(rid, "FINISHED", end_time=1_700_000_000_500 + i * 1000)
    if args.rich:
        import pandas as pd

        mlflow.set_experiment(experiment_id=exp)
        with mlflow.start_run(run_name="with-data") as run:
            frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
            dataset = mlflow.data.from_pandas(frame, source="s3://bucket/churn.csv", name="churn")
            mlflow.log_input(dataset, context="training")
            mlflow.log_param("alpha", "0.5")
            mlflow.log_metric("acc", 0.5, step=0)
            mlflow.log_metric("acc", 0.75, step=1)
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "notes.txt")
                with open(path, "w") as f:
                    f.write("trained on churn\n")
                mlflow.log_artifact(path)
            import sklearn.linear_model

            model = sklearn.linear_model.LogisticRegression().fit(frame[["x"]], frame["y"])
            # pinned requirements: inferring them runs the model in a subprocess; cloudpickle: MLflow's
            # default (skops) is one more package the test venv would need
            info = mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"],
                                            serialization_format="cloudpickle")
            print("model", info.model_id, run.info.run_id)
        for version in (1, 2):
            mv = mlflow.register_model(info.model_uri, "churn-model")
            print("version", mv.version)
        client.set_registered_model_alias("churn-model", "champion", "2")
        with mlflow.start_run(run_name="crashed") as failed:
            mlflow.log_param("alpha", "9")
        client.set_terminated(failed.info.run_id, RunStatus.to_string(RunStatus.FAILED))
    print("done", args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
