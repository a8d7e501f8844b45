"""What the CLI prints: trees that list every node and are drawn as ``tree`` draws them, labels for unnamed
inputs, run order, param types, and the exits CI relies on. On both SQLite and PostgreSQL where a store is
read."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from mlineage import events as ev
from mlineage.cli.main import cli
from mlineage.events import NewEvent
from mlineage.ledger import canonical_json

from .conftest import CLEAN, CODE, MODEL, RAW


def invoke(env: dict[str, str], *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def test_trace_tree_is_drawn_like_tree_with_paths_for_unnamed_inputs(env: dict[str, str]) -> None:
    lines = invoke(env, "trace", "clf").splitlines()
    assert lines == [
        f"model clf@1 {MODEL[:19]}",
        "└── PRODUCED run train [running] train0001",
        f"    ├── USED code train.py@1 {CODE[:19]}",
        f"    └── USED:train dataset clean@1 {CLEAN[:19]}",
        "        └── PRODUCED run prep [running] prep0001",
        f"            └── USED dataset data/raw.csv {RAW[:19]}",
        "5 ancestors",
    ]


def test_kind_filter_lists_every_kept_node_in_the_tree(env: dict[str, str]) -> None:
    out = invoke(env, "trace", "clf", "--kind", "dataset").splitlines()
    assert out == [f"model clf@1 {MODEL[:19]}",
                   f"├── 2 hops dataset clean@1 {CLEAN[:19]}",
                   f"└── 4 hops dataset data/raw.csv {RAW[:19]}",
                   "2 ancestors"]
    down = invoke(env, "impact", RAW, "--kind", "run")
    assert "run prep [running] prep0001" in down and "run train [running] train0001" in down


def test_runs_are_newest_first_by_start_time(env: dict[str, str]) -> None:
    runs = json.loads(invoke(env, "runs", "--json"))
    assert [r["id"] for r in runs] == ["prep0001", "train0001"]
    table = invoke(env, "runs")
    assert table.index("prep0001") < table.index("train0001")


def test_float_params_keep_their_type_where_users_see_them(env: dict[str, str], client: Any) -> None:
    run = json.loads(invoke(env, "show", "run:train0001", "--json"))
    assert run["params"] == {"C": 1.0, "n": 3, "opt": {"lr": 2.0}, "gamma": 5.0}
    assert [type(run["params"][k]) for k in ("C", "n", "gamma")] == [float, int, float]
    assert isinstance(run["params"]["opt"]["lr"], float)
    assert "C: 1.0" in invoke(env, "show", "run:train0001")
    # the canonical form the ledger hashes is unchanged: 1.0 is written as 1 there, the type beside it
    [started] = [
        e for e in client.store.iter_events() if e.type == ev.RUN_STARTED and e.payload["job"] == "train"
    ]
    assert canonical_json(started.payload["params"]) == b'{"C":1,"n":3,"opt":{"lr":2}}'
    assert started.payload["float_params"] == ["/C", "/opt/lr"]
    client.rebuild()
    assert json.loads(invoke(env, "show", "run:train0001", "--json"))["params"]["C"] == 1.0
    folded = json.loads(invoke(env, "trace", "run:train0001", "--as-of", "seq:7", "--json"))["nodes"][0]
    assert folded["params"] == {"C": 1.0, "n": 3, "opt": {"lr": 2.0}} and isinstance(
        folded["params"]["C"], float
    )
    assert client.store.verify().ok


def test_float_params_paths_must_name_numbers() -> None:
    from mlineage.errors import ValidationError

    with pytest.raises(ValidationError, match="float_params: /a does not name a number"):
        ev.validate(NewEvent(ev.PARAMS_LOGGED, {"run_id": "r", "params": {"a": "x"}, "float_params": ["/a"]}))
