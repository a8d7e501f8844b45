"""The runs projection's pure fold gives the same Run records as the projected table (both backends)."""

from __future__ import annotations

from mlineage.events import NewEvent
from mlineage.sdk.client import Client
from mlineage.stores.projections.runs import fold_run, fold_runs


def test_fold_runs_matches_the_runs_table(client: Client) -> None:
    client.append(
        [
            NewEvent(
                "RunStarted",
                {"run_id": "a", "job": "train", "kind": "train", "params": {"lr": 0.1, "n": 2.0}},
            ),
            NewEvent("RunStarted", {"run_id": "b", "job": "eval", "params": {}}),
            NewEvent("ParamsLogged", {"run_id": "a", "params": {"epochs": 3}}),
            NewEvent(
                "MetricsLogged",
                {
                    "run_id": "a",
                    "metrics": [
                        {"key": "loss", "value": 0.5, "step": 0},
                        {"key": "loss", "value": 0.25, "step": 1},
                    ],
                },
            ),
            NewEvent("RunEnded", {"run_id": "a", "status": "failed", "error": {"type": "E", "message": "m"}}),
        ]
    )
    folded = fold_runs((e.type, e.payload) for e in client.store.iter_events())
    assert folded == {"a": client.store.get_run("a"), "b": client.store.get_run("b")}
    assert folded["a"].params == {"lr": 0.1, "n": 2.0, "epochs": 3} and folded["a"].metrics == {"loss": 0.25}
    assert folded["a"].status.value == "failed" and folded["b"].status.value == "running"


def test_fold_run_ignores_what_does_not_change_a_run() -> None:
    assert fold_run(None, "ParamsLogged", {"run_id": "x", "params": {"a": 1}}) is None  # not started
    started = fold_run(None, "RunStarted", {"run_id": "x", "job": "j", "kind": "other", "params": {}})
    assert started is not None
    assert fold_run(started, "ArtifactUsed", {"run_id": "x", "digest": "sha256:" + "0" * 64}) is started
    assert fold_run(started, "ParamsLogged", None) is started  # an erased payload
