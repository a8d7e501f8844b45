"""The first no-op ``reproduce --upstream`` read with plain ``sqlite3`` (``reproduce/quick.py``) gives the
full check's answer: the same steps in the same order with the same inputs and verdicts; it declines (and
the full check answers) when a step is stale, and on PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .helpers import Repo
from .test_reuse import PIPELINE_STEP

pytestmark = [pytest.mark.full_capture, pytest.mark.slow]  # a dozen CLI subprocesses per backend

# a step that declares no source files: its code term is the commit and the working tree's diff
COMMIT_STEP = PIPELINE_STEP.replace("source_files=[__file__]", "")

QUICK = """
import json, sys
from pathlib import Path
from mlineage.config import load_settings
from mlineage.reproduce.quick import noop_answer
found = noop_answer(load_settings(), sys.argv[1], Path.cwd())
print(json.dumps(found and found[0].to_dict()))
"""


def _quick(repo: Repo, ref: str = "out/model.txt") -> Any:
    return json.loads(repo.python("-c", QUICK, ref).stdout)


def _full(repo: Repo, workdir: Path, ref: str = "out/model.txt") -> Any:
    # --workdir takes the full check through the Client (neither the kept answer nor the first-call path)
    return repo.cli_json("reproduce", ref, "--upstream", "--workdir", str(workdir))


def _steps_both_ways(repo: Repo, ref: str) -> tuple[list[Any], list[Any]]:
    """The ancestry read at once (``read_ancestry``, through the store's connection) and walked run by run
    through the Client, as (run id, [(digest, role)]) per step."""
    from mlineage.reproduce.ancestry import order_steps
    from mlineage.reproduce.rerun import producing_run
    from mlineage.reproduce.service import _read_sql
    from mlineage.sdk.client import Client

    assert repo.store_uri is not None and repo.objects is not None
    client = Client.for_uri(repo.store_uri, repo.objects)
    try:
        target = producing_run(client, client.resolve(ref))
        at_once = _read_sql(client.store, target)
        assert at_once is not None
        store = client.store
        by_run = order_steps(target, lambda r: store.io_of_run(r.id)[0], store.producers_of)

        def plain(steps: list[Any]) -> list[Any]:
            return [(run.id, [(str(a.digest), role) for a, role in inputs]) for run, inputs in steps]

        return plain(at_once.steps(target)), plain(by_run)
    finally:
        client.close()


def test_the_first_call_path_gives_the_full_checks_answer(store_uri: str, tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo", store_uri, tmp_path / "objects")
    sqlite = store_uri.startswith("sqlite")
    repo.write("data/raw.txt", "abc")
    repo.write("prep.py", PIPELINE_STEP)
    repo.write("feat.py", COMMIT_STEP)
    repo.write("train.py", PIPELINE_STEP)
    repo.commit()
    repo.python("prep.py", "prep", "data/raw.txt", "out/clean.txt")
    repo.python("feat.py", "feat", "out/clean.txt", "out/feat.txt")
    repo.python("train.py", "train", "out/feat.txt", "out/model.txt")

    full = _full(repo, tmp_path / "a")
    assert [(s["job"], s["verdict"]) for s in full["steps"]] == [
        ("prep", "up-to-date"), ("feat", "up-to-date"), ("train", "up-to-date")]
    assert _quick(repo) == (full if sqlite else None)
    assert repo.cli_json("reproduce", "out/model.txt", "--upstream") == full  # the CLI's own first call
    at_once, by_run = _steps_both_ways(repo, str(repo.root / "out/model.txt"))
    assert at_once == by_run and len(at_once) == 3

    # a changed input: prep's code changes its output, so prep re-runs and train's input changes
    repo.write("prep.py", PIPELINE_STEP.replace('"|" + name', '"#" + name'))
    assert _quick(repo) is None
    changed = _full(repo, tmp_path / "b")
    verdicts = {s["job"]: (s["verdict"], s["stale"]) for s in changed["steps"]}
    assert verdicts["prep"] == ("different", True) and verdicts["train"][1], changed
    assert "inputs" in changed["steps"][2]["explain"]

    # the re-runs' model (by its digest: the working tree keeps the old one) is up to date both ways, its
    # ancestry found through the inputs' new producers
    [output] = changed["steps"][2]["outputs"]
    model = output["reproduced"]
    again = _full(repo, tmp_path / "c", model)
    assert all(s["verdict"] == "up-to-date" for s in again["steps"]), again
    assert [s["original_run"] for s in again["steps"]] == [s["run"] for s in changed["steps"]]
    assert _quick(repo, model) == (again if sqlite else None)
    at_once, by_run = _steps_both_ways(repo, model)
    assert at_once == by_run and len(at_once) == 3
