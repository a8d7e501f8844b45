"""A real four-step pipeline (ingest, preprocess, train, evaluate), tracked end to end, then its lineage
printed and the ledger verified.

make a synthetic tabular dataset -> preprocess (standardise, split) -> train a scikit-learn model -> evaluate.
Run with `make demo` (it uses a fresh project folder, demo-workdir/ by default).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np

import mlineage


def make_dataset(path: Path, rows: int = 2000, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 5))
    weights = np.array([1.5, -2.0, 0.7, 0.0, 1.1])
    y = (x @ weights + rng.normal(scale=0.5, size=rows) > 0).astype(int)
    np.savetxt(
        path, np.column_stack([x, y]), delimiter=",", header="f0,f1,f2,f3,f4,label", comments="", fmt="%.6f"
    )


@mlineage.track("ingest", kind="ingest", outputs={"data/raw.csv": "dataset"})
def ingest(rows: int, seed: int) -> None:
    make_dataset(Path("data/raw.csv"), rows, seed)


def preprocess(test_fraction: float) -> None:
    with mlineage.run("preprocess", kind="transform", params={"test_fraction": test_fraction}) as run:
        run.use("data/raw.csv", role="raw")
        table = np.loadtxt("data/raw.csv", delimiter=",", skiprows=1)
        x, y = table[:, :-1], table[:, -1]
        x = (x - x.mean(axis=0)) / x.std(axis=0)
        cut = int(len(x) * (1 - test_fraction))
        np.save("data/train.npy", np.column_stack([x[:cut], y[:cut]]))
        np.save("data/test.npy", np.column_stack([x[cut:], y[cut:]]))
        run.produce("data/train.npy", kind="dataset", name="train-set", role="train")
        run.produce("data/test.npy", kind="dataset", name="test-set", role="test")
        run.log_metrics({"train_rows": cut, "test_rows": len(x) - cut})


def train(c: float) -> None:
    from sklearn.linear_model import LogisticRegression

    with mlineage.run("train", kind="train", params={"C": c, "model": "LogisticRegression"}) as run:
        run.use("train-set", role="training_data")
        data = np.load("data/train.npy")
        model = LogisticRegression(C=c, max_iter=200).fit(data[:, :-1], data[:, -1])
        run.log_metric("train_accuracy", float(model.score(data[:, :-1], data[:, -1])))
        Path("models").mkdir(exist_ok=True)
        with open("models/classifier.pkl", "wb") as handle:
            pickle.dump(model, handle)
        run.produce("models/classifier.pkl", kind="model", name="classifier")


def evaluate() -> None:
    with mlineage.run("evaluate", kind="evaluate") as run:
        run.use("classifier", role="model")
        run.use("test-set", role="evaluation_data")
        with open("models/classifier.pkl", "rb") as handle:
            model = pickle.load(handle)
        data = np.load("data/test.npy")
        accuracy = float(model.score(data[:, :-1], data[:, -1]))
        run.log_metric("test_accuracy", accuracy)
        Path("reports").mkdir(exist_ok=True)
        Path("reports/eval.txt").write_text(f"test accuracy: {accuracy:.4f}\n")
        run.produce("reports/eval.txt", kind="metrics", name="eval-report")


def cli(*args: str) -> None:
    print(f"\n$ mlineage {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", "mlineage.cli.main", *args], check=True)


def main() -> None:
    workdir = Path(sys.argv[1] if len(sys.argv) > 1 else "demo-workdir").resolve()
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    os.chdir(workdir)
    cli("init")
    ingest(rows=2000, seed=7)
    preprocess(test_fraction=0.25)
    train(c=1.0)
    evaluate()
    try:  # a failed run is lineage too
        with mlineage.run("train", kind="train", params={"C": -1.0, "model": "LogisticRegression"}) as run:
            run.use("train-set", role="training_data")
            raise ValueError("C must be positive")
    except ValueError:
        pass
    cli("runs")
    cli("trace", "classifier")
    cli("impact", "data/raw.csv")
    cli("verify")


if __name__ == "__main__":
    main()
