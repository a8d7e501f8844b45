"""The CLI tests' shared store: a small pipeline on SQLite and PostgreSQL, and how to call the CLI on it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from mlineage import events as ev
from mlineage.events import NewEvent


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


RAW, CLEAN, MODEL, CODE = (_digest(t) for t in ("raw", "clean", "model", "code"))


@pytest.fixture
def env(client: Any, store_uri: str, tmp_path: Path) -> dict[str, str]:
    """raw (unnamed, recorded from data/raw.csv) -> prep -> clean@1 -> train (also uses code) -> clf@1."""
    client.append(
        [
            NewEvent(
                ev.ARTIFACT_RECORDED, {"digest": RAW, "kind": "dataset", "metadata": {"path": "data/raw.csv"}}
            ),
            NewEvent(ev.ARTIFACT_RECORDED, {"digest": CODE, "kind": "code", "name": "train.py"}),
            NewEvent(
                ev.RUN_STARTED,
                {
                    "run_id": "prep0001",
                    "job": "prep",
                    "kind": "transform",
                    "params": {},
                    "context": {},
                    "started_at": "2026-01-01T10:00:00.000000Z",
                },
            ),
            NewEvent(ev.ARTIFACT_USED, {"run_id": "prep0001", "digest": RAW}),
            NewEvent(ev.ARTIFACT_RECORDED, {"digest": CLEAN, "kind": "dataset", "name": "clean"}),
            NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": "prep0001", "digest": CLEAN}),
            # started before prep in wall time, recorded after it: `runs` orders by start time
            NewEvent(
                ev.RUN_STARTED,
                {
                    "run_id": "train0001",
                    "job": "train",
                    "kind": "train",
                    "params": {"C": 1.0, "n": 3, "opt": {"lr": 2.0}},
                    "context": {},
                    "started_at": "2026-01-01T09:00:00.000000Z",
                },
            ),
            NewEvent(ev.PARAMS_LOGGED, {"run_id": "train0001", "params": {"gamma": 5.0}}),
            NewEvent(ev.ARTIFACT_USED, {"run_id": "train0001", "digest": CLEAN, "role": "train"}),
            NewEvent(ev.ARTIFACT_USED, {"run_id": "train0001", "digest": CODE}),
            NewEvent(ev.ARTIFACT_RECORDED, {"digest": MODEL, "kind": "model", "name": "clf"}),
            NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": "train0001", "digest": MODEL}),
        ]
    )
    return {"MLINEAGE_URI": store_uri, "MLINEAGE_ARTIFACTS": str(tmp_path / "objects")}
