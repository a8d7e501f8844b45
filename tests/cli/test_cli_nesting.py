"""Nested runs: a run opened inside another records a parent link (the RunNested event and its projection),
`runs --tree` shows it, and `trace` of a trial's model reaches the sweep's inputs. On SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import mlineage
from mlineage.errors import ValidationError
from mlineage.events import NewEvent
from mlineage.nesting import RUN_NESTED

from .test_cli_outputs import invoke


@pytest.fixture
def sweep(client: Any, store_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.csv").write_text("a\n1\n")
    trials = []
    with mlineage.run("sweep", client=client) as outer:
        outer.use("data.csv", role="train")
        for lr in (0.1, 0.2):
            with mlineage.run("trial", params={"lr": lr}, client=client) as trial:
                (tmp_path / "m.bin").write_text(str(lr))
                trial.produce("m.bin", name="trial-model")
            trials.append(trial.id)
    with mlineage.run("alone", client=client) as alone:
        pass
    env = {"MLINEAGE_URI": store_uri, "MLINEAGE_ARTIFACTS": str(tmp_path / "objects")}
    return {"env": env, "sweep": outer.id, "trials": trials, "alone": alone.id}


def test_trace_of_a_trial_model_reaches_the_sweeps_inputs(sweep: dict[str, Any], client: Any) -> None:
    env = sweep["env"]
    doc = json.loads(invoke(env, "trace", "trial-model@1", "--json"))
    keys = {n.get("id") or n.get("digest") for n in doc["nodes"]}
    assert sweep["sweep"] in keys and any(
        n.get("metadata", {}).get("path") == "data.csv" for n in doc["nodes"]
    )
    assert {"parent": f"run:{sweep['sweep']}", "child": f"run:{sweep['trials'][0]}", "type": "CONTAINS",
            "role": None} in doc["edges"]
    tree = invoke(env, "trace", "trial-model@2")
    assert "└── CONTAINS run sweep [completed]" in tree and "USED:train dataset data.csv" in tree
    impact = json.loads(invoke(env, "impact", "data.csv", "--kind", "model", "--json"))
    assert [n["version"] for n in impact["nodes"][1:]] == [1, 2]
    client.rebuild()  # the projection folds the history again: same answer
    assert json.loads(invoke(env, "trace", "trial-model@1", "--json"))["edges"] == doc["edges"]


def test_runs_tree_shows_trials_under_their_sweep(sweep: dict[str, Any]) -> None:
    lines = invoke(sweep["env"], "runs", "--tree").splitlines()
    first, second = sweep["trials"]
    assert lines[0].startswith(f"alone [completed] {sweep['alone'][:12]}")
    assert lines[1].startswith(f"sweep [completed] {sweep['sweep'][:12]}")
    assert lines[2].startswith(f"├── trial [completed] {second[:12]}")
    assert lines[3].startswith(f"└── trial [completed] {first[:12]}")
    shown = json.loads(invoke(sweep["env"], "show", f"run:{first}", "--json"))
    assert shown["context"]["parent_run_id"] == sweep["sweep"]


def test_a_nesting_event_is_checked(client: Any) -> None:
    with pytest.raises(ValidationError, match="cannot be nested in itself"):
        client.append([NewEvent(RUN_NESTED, {"run_id": "r", "parent_run_id": "r"})])
    with pytest.raises(ValidationError, match="parent_run_id"):
        client.append([NewEvent(RUN_NESTED, {"run_id": "r"})])
