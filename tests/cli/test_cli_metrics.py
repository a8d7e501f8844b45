"""Metrics on the command line: `metrics RUN [KEY]`, `compare RUN RUN...`, metrics in `lineage-diff`, and run
ids given by unique prefix. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mlineage import events as ev
from mlineage.cli.main import cli
from mlineage.cli.sparkline import sparkline
from mlineage.events import NewEvent

from .test_cli_outputs import invoke

DATA, MODEL_A, MODEL_B = ("sha256:" + c * 64 for c in "dab")


def _run(run_id: str, lr: float, losses: list[float], model: str) -> list[NewEvent]:
    return [
        NewEvent(ev.RUN_STARTED, {"run_id": run_id, "job": "train", "kind": "train",
                                  "params": {"lr": lr, "epochs": 3}, "context": {}}),
        NewEvent(ev.ARTIFACT_USED, {"run_id": run_id, "digest": DATA}),
        NewEvent(ev.METRICS_LOGGED, {"run_id": run_id, "metrics": [
            {"key": "loss", "value": v, "step": s, "ts": f"2026-01-01T00:00:0{s}.000000Z"}
            for s, v in enumerate(losses)] + [{"key": "acc", "value": 1 - losses[-1], "step": 0,
                                                "ts": "2026-01-01T00:01:00.000000Z"}]}),
        NewEvent(ev.ARTIFACT_RECORDED, {"digest": model, "kind": "model", "name": "clf"}),
        NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": run_id, "digest": model}),
        NewEvent(ev.RUN_ENDED, {"run_id": run_id, "status": "completed"}),
    ]


@pytest.fixture
def env(client: Any, store_uri: str, tmp_path: Path) -> dict[str, str]:
    client.append([NewEvent(ev.ARTIFACT_RECORDED, {"digest": DATA, "kind": "dataset", "name": "data"})])
    client.append(_run("abc111aaaa", 0.1, [0.9, 0.5, 0.25], MODEL_A))
    client.append(_run("abc222bbbb", 0.2, [0.8, 0.4, 0.5], MODEL_B))
    return {"MLINEAGE_URI": store_uri, "MLINEAGE_ARTIFACTS": str(tmp_path / "objects")}


def test_metrics_history_table_json_and_sparkline(env: dict[str, str]) -> None:
    doc = json.loads(invoke(env, "metrics", "abc1", "--json"))
    assert doc["run"] == "abc111aaaa"
    assert [m["value"] for m in doc["metrics"]["loss"]] == [0.9, 0.5, 0.25]
    assert [m["step"] for m in doc["metrics"]["loss"]] == [0, 1, 2] and doc["metrics"]["acc"][0][
        "value"
    ] == 0.75
    summary = invoke(env, "metrics", "abc1")
    assert (
        "loss" in summary
        and "0.25" in summary
        and "0.9" in summary
        and sparkline([0.9, 0.5, 0.25]) in summary
    )
    one = invoke(env, "metrics", "run:abc111aaaa", "loss")
    assert "2026-01-01T00:00:02.000000Z" in one and sparkline([0.9, 0.5, 0.25]) in one
    assert json.loads(invoke(env, "metrics", "clf@2", "--json"))["run"] == "abc222bbbb"  # a model: its run
    assert "has no metric 'f1' (its metrics: acc, loss)" in invoke(env, "metrics", "abc1", "f1", code=1)


def test_sparkline_scales_and_buckets() -> None:
    assert sparkline([0, 1]) == "▁█" and sparkline([2, 2, 2]) == "▄▄▄" and sparkline([]) == ""
    assert len(sparkline(list(range(1000)), width=40)) == 40
    assert (
        sparkline(list(range(1000)), width=40)[0] == "▁" and sparkline(list(range(1000)), width=40)[-1] == "█"
    )


def test_compare_marks_what_differs(env: dict[str, str]) -> None:
    doc = json.loads(invoke(env, "compare", "abc1", "abc2", "--json"))
    assert [r["id"] for r in doc["runs"]] == ["abc111aaaa", "abc222bbbb"]
    rows = {(r["section"], r["key"]): r for r in doc["rows"]}
    assert rows[("param", "lr")]["values"] == [0.1, 0.2] and rows[("param", "lr")]["differs"]
    assert rows[("param", "epochs")]["differs"] is False
    assert rows[("metric", "loss")]["values"] == [0.25, 0.5]
    text = invoke(env, "compare", "abc1", "abc2")
    assert "param.lr" in text and "param.epochs" not in text and "3 differ, 1 the same" in text
    assert "param.epochs" in invoke(env, "compare", "abc1", "abc2", "--all")
    assert "needs at least two runs" in invoke(env, "compare", "abc1", code=1)


def test_ambiguous_run_prefix_lists_candidates(env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["metrics", "abc"], env=env)
    assert result.exit_code == 1
    assert "'abc' is ambiguous" in result.output
    assert "run abc111aaaa train" in result.output and "run abc222bbbb train" in result.output
    assert "no run id starts with 'zzz'" in invoke(env, "metrics", "run:zzz", code=1)


def test_lineage_diff_includes_final_metrics(env: dict[str, str]) -> None:
    diff = json.loads(invoke(env, "lineage-diff", "clf@1", "clf@2", "--json"))
    metrics = {d["key"]: (d["a"], d["b"]) for d in diff["differences"] if d["aspect"] == "metric"}
    assert metrics == {"train.loss": ("0.25", "0.5"), "train.acc": ("0.75", "0.5")}
    assert "train.loss" in invoke(env, "lineage-diff", "clf@1", "clf@2")
