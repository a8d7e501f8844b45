"""Post-hoc scans: what static inspection and log patterns find, inferred edges apart from tracked ones in
every output, confirm/reject decisions, and an idempotent re-scan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlineage.importers.scan import (
    DEFAULT_LOG_PATTERNS,
    compile_patterns,
    log_findings,
    notebook_source,
    python_findings,
)

SCRIPT = '''import numpy as np
import pandas as pd
import torch
from pathlib import Path

frame = pd.read_csv("data/train.csv")
table = pd.read_parquet(path="data/extra.parquet")
weights = np.load("weights.npy")
torch.save(model.state_dict(), "model.pt")
frame.to_parquet("features.parquet")
with open("report.txt", "w") as out:
    out.write("ok")
with open("config.yaml") as f:
    config = f.read()
np.save("emb.npy", weights)
Path("notes.md").write_text("x")
pd.read_csv(some_variable)
'''


def test_static_inspection_finds_literal_reads_and_writes() -> None:
    found = {(f.relation, f.path, f.line) for f in python_findings("train.py", SCRIPT)}
    assert found == {("read", "data/train.csv", 6), ("read", "data/extra.parquet", 7),
                     ("read", "weights.npy", 8), ("write", "model.pt", 9), ("write", "features.parquet", 10),
                     ("write", "report.txt", 11), ("read", "config.yaml", 13), ("write", "emb.npy", 15),
                     ("write", "notes.md", 16)}
    assert python_findings("broken.py", "def (:") == []


def test_notebooks_and_logs() -> None:
    notebook = json.dumps({"cells": [
        {"cell_type": "markdown", "source": ["pd.read_csv('not code.csv')"]},
        {"cell_type": "code", "source": ["%matplotlib inline\n", "df = pd.read_csv('in.csv')\n"]},
        {"cell_type": "code", "source": "df.to_csv('out.csv')"}]})
    found = python_findings("nb.ipynb", notebook_source(notebook))
    assert [(f.relation, f.path) for f in found] == [("read", "in.csv"), ("write", "out.csv")]
    lines = ["12:00 Loaded 5000 rows from data/train.csv", "12:05 model saved to models/m.pkl", "nothing"]
    found = log_findings("run.log", lines, compile_patterns(DEFAULT_LOG_PATTERNS))
    assert [(f.relation, f.path, f.line) for f in found] == [("read", "data/train.csv", 1),
                                                               ("write", "models/m.pkl", 2)]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "untracked"
    (root / "data").mkdir(parents=True)
    (root / "data" / "train.csv").write_text("a,b\n1,2\n")
    (root / "train.py").write_text('import pandas as pd\nimport joblib\n\n'
                                   'df = pd.read_csv("data/train.csv")\n'
                                   'joblib.dump(fit(df), "model.pkl")\n')
    (root / "model.pkl").write_bytes(b"\x80model")
    (root / "train.log").write_text("loaded data/train.csv\nsaved model to model.pkl\n")
    return root


def test_scan_records_inferred_edges_apart_and_rescans_add_nothing(client, folder: Path) -> None:
    report = client.scan(folder)
    assert report.warnings == []
    edges = client.inferred_edges()
    assert {(e["relation"], e["evidence"][0]["file"], e["evidence"][0]["line"]) for e in edges} == {
        ("read", "train.py", 4), ("write", "train.py", 5), ("read", "train.log", 1),
        ("write", "train.log", 2)}
    assert {e["confidence"] for e in edges} == {0.9, 0.6} and {e["status"] for e in edges} == {"inferred"}
    model = client.resolve("model.pkl")
    result = client.trace(model)
    types = {t for _, _, t, _ in result.edges}
    assert "INFERRED" in types and "PRODUCED" not in types  # nothing tracked produced the model
    head = client.store.head()
    again = client.scan(folder)
    assert again.appended == 0 and client.store.head() == head


def test_every_output_marks_inferred_edges(tmp_path: Path, folder: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from mlineage.cli.main import cli

    monkeypatch.chdir(tmp_path)
    env = {"MLINEAGE_URI": f"sqlite:///{tmp_path / 'cli.db'}", "MLINEAGE_ARTIFACTS": str(tmp_path / "blobs")}
    runner = CliRunner()
    scanned = runner.invoke(cli, ["scan", str(folder)], env=env)
    assert scanned.exit_code == 0, scanned.output
    assert "scan: 4 file(s) recorded, 2 showing lineage" in scanned.output
    assert "write p=0.90  untracked/train.py:5" in scanned.output
    tree = runner.invoke(cli, ["trace", "untracked/model.pkl"], env=env).output
    assert "INFERRED:write p=0.90 untracked/train.py:5" in tree
    dot = runner.invoke(cli, ["trace", "untracked/model.pkl", "--format", "dot"], env=env).output
    assert "style=dashed" in dot and "INFERRED:write" in dot
    mermaid = runner.invoke(cli, ["trace", "untracked/model.pkl", "--format", "mermaid"], env=env).output
    assert "-.->|\"INFERRED:write p=0.90 untracked/train.py:5\"|" in mermaid
    as_json = json.loads(runner.invoke(cli, ["trace", "untracked/model.pkl", "--json"], env=env).output)
    assert {e["type"] for e in as_json["edges"]} >= {"INFERRED"}
    edges = json.loads(runner.invoke(cli, ["scan", "edges", "--json"], env=env).output)["inferred_edges"]
    write = next(e for e in edges
                 if e["relation"] == "write" and e["evidence"][0]["file"] == "untracked/train.py")
    confirmed = runner.invoke(cli, ["scan", "confirm", write["edge_id"][:10], "--note", "checked"], env=env)
    assert confirmed.exit_code == 0 and "confirmed" in confirmed.output
    read = next(e for e in edges
                if e["relation"] == "read" and e["evidence"][0]["file"] == "untracked/train.log")
    assert runner.invoke(cli, ["scan", "reject", read["edge_id"]], env=env).exit_code == 0
    listed = {e["edge_id"]: e["status"] for e in json.loads(
        runner.invoke(cli, ["scan", "edges", "--json"], env=env).output)["inferred_edges"]}
    assert listed[write["edge_id"]] == "confirmed" and listed[read["edge_id"]] == "rejected"
    tree = runner.invoke(cli, ["trace", "untracked/model.pkl"], env=env).output
    assert "PRODUCED:confirmed" in tree  # a confirmed edge is tracked from now on
    missing = runner.invoke(cli, ["scan", "confirm", "ffffffff"], env=env)
    assert missing.exit_code == 1 and "no inferred edge" in missing.output
    bad = runner.invoke(cli, ["scan", str(folder), "--pattern", "read=no group"], env=env)
    assert bad.exit_code == 1 and "(?P<path>...)" in bad.output
