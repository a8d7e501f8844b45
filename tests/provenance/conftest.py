"""A real lineage for the provenance tests: raw.csv -> prep -> clean.csv -> train (with a base model) ->
model.bin, written through the SDK into whichever store the test runs on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# the checkout's parent holds shared/ (main), or its grandparent does (a worktree under wt/)
FIXTURES = next((p / "shared" / "fixtures" for p in Path(__file__).resolve().parents[2:5]
                 if (p / "shared" / "fixtures").is_dir()), Path("shared") / "fixtures")
CYCLONEDX_SCHEMA = Path(__file__).resolve().parent / "cyclonedx_schema"


@dataclass
class Pipeline:
    folder: Path
    model_file: Path
    model: Any  # Artifact
    raw: Any
    clean: Any
    base: Any
    prep_run: str
    train_run: str


def build_pipeline(client: Any, folder: Path) -> Pipeline:
    import mlineage

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "raw.csv").write_text("x,y\n1,2\n3,4\n5,6\n")
    raw = client.record_artifact(folder / "raw.csv", kind="dataset", name="raw",
                                 metadata={"license": "CC-BY-4.0"})
    (folder / "base.bin").write_bytes(b"base weights" * 64)
    base = client.record_artifact(folder / "base.bin", kind="model", name="base")
    with mlineage.run("prep", kind="transform", params={"frac": 0.5}, client=client, capture=False) as prep:
        prep.use(raw, role="source")
        (folder / "clean.csv").write_text("x,y\n1,2\n3,4\n")
        clean = prep.produce(folder / "clean.csv", kind="dataset", name="clean")
    with mlineage.run("train", kind="train", params={"lr": 0.1, "epochs": 3, "layers": [64, 32]},
                      client=client, capture=False) as train:
        train.use(clean, role="train")
        train.log_metric("accuracy", 0.93)
        train.log_metric("loss", 0.21)
        (folder / "model.bin").write_bytes(bytes(range(256)) * 16)
        model = train.produce(folder / "model.bin", kind="model", name="clf", derived_from=[base])
    return Pipeline(folder, folder / "model.bin", model, raw, clean, base, prep.id, train.id)


@pytest.fixture
def pipeline(client: Any, tmp_path: Path) -> Pipeline:
    return build_pipeline(client, tmp_path / "work")
