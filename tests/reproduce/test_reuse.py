"""Run reuse and ``reproduce --upstream`` on real repositories: a hit restores verified outputs, a miss says
which term differed, a hit whose stored output fails its digest check is a miss, and a three-step pipeline
re-runs only the step whose code changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .helpers import Repo

pytestmark = pytest.mark.full_capture

STEP = """
import sys
from pathlib import Path
import mlineage
k = int(sys.argv[1])
with mlineage.run("double", reuse=True, params={"k": k}, inputs=["data/in.txt"],
                  outputs=["out/x.txt"]) as run:
    print(run.lookup.explain())
    if not run.reused:
        Path("out").mkdir(exist_ok=True)
        Path("out/x.txt").write_text(str(int(Path("data/in.txt").read_text()) * k))
        print("computed")
"""

# one script per step, each declaring its own code (source_files), as a dvc.yaml's deps do
PIPELINE_STEP = """
import sys
from pathlib import Path
import mlineage
name, source, target = sys.argv[1:4]
with mlineage.run(name, source_files=[__file__]) as run:
    run.use(source)
    Path(target).parent.mkdir(exist_ok=True)
    Path(target).write_text(Path(source).read_text().upper() + "|" + name)
    run.produce(target, kind="dataset")
"""


@pytest.fixture
def repo(store_uri: str, tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "repo", store_uri, tmp_path / "objects")
    r.write("data/in.txt", "21")
    return r


def test_a_hit_restores_the_outputs_and_a_miss_says_which_term_differed(repo: Repo) -> None:
    repo.write("step.py", STEP)
    repo.commit()
    first = repo.python("step.py", "2").stdout
    assert "miss" in first and "no completed run of this job has recorded a key yet" in first
    (repo.root / "out/x.txt").unlink()
    second = repo.python("step.py", "2").stdout
    assert second.startswith("hit: run") and "computed" not in second
    assert (repo.root / "out/x.txt").read_text() == "42"
    third = repo.python("step.py", "3").stdout
    assert "differs in: params" in third and "computed" in third
    (repo.root / "data/in.txt").write_text("5")
    fourth = repo.python("step.py", "3").stdout
    assert "differs in: inputs" in fourth and (repo.root / "out/x.txt").read_text() == "15"
    runs = repo.cli_json("runs")
    reused = [r for r in runs if r["job"] == "double"]
    assert len(reused) == 4
    # the new tables are projections: replayed from the ledger they come out the same
    verified = repo.cli("verify", "--projections", check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    shown = repo.cli_json("trace", "out/x.txt")
    assert {"REUSES"} <= {e["type"] for e in repo.cli_json("trace", f"run:{_hit_run(repo)}")["edges"]}
    assert shown["root"]


def _hit_run(repo: Repo) -> str:
    from mlineage.stores.sql import SqlStore

    store = SqlStore(repo.store_uri)
    try:
        from sqlalchemy import text

        with store.engine.connect() as conn:
            return str(conn.execute(text("SELECT run_id FROM run_reuses")).scalar_one())
    finally:
        store.close()


def test_a_hit_whose_stored_output_fails_its_digest_check_is_a_miss(repo: Repo) -> None:
    repo.write("step.py", STEP)
    repo.commit()
    repo.python("step.py", "2")
    digest = repo.cli_json("show", "out/x.txt")["digest"]
    blob = next(repo.objects.rglob(digest.split(":")[1][2:]))
    blob.chmod(0o644)
    blob.write_text("43")  # the store's copy is corrupted
    (repo.root / "out/x.txt").unlink()
    again = repo.python("step.py", "2").stdout
    assert again.startswith("miss") and "computed" in again
    assert (repo.root / "out/x.txt").read_text() == "42"


def test_a_three_step_pipeline_re_runs_only_the_changed_step(repo: Repo, tmp_path: Path) -> None:
    repo.write("data/raw.txt", "abc")
    for step in ("prep", "feat", "train"):
        repo.write(f"{step}.py", PIPELINE_STEP)
    repo.commit()
    repo.python("prep.py", "prep", "data/raw.txt", "out/clean.txt")
    repo.python("feat.py", "feat", "out/clean.txt", "out/feat.txt")
    repo.python("train.py", "train", "out/feat.txt", "out/model.txt")
    noop = repo.cli_json("reproduce", "out/model.txt", "--upstream", "--workdir", str(tmp_path / "a"))
    assert [(s["job"], s["verdict"]) for s in noop["steps"]] == [
        ("prep", "up-to-date"),
        ("feat", "up-to-date"),
        ("train", "up-to-date"),
    ]
    assert noop["ok"] and not (tmp_path / "a" / "step-0").exists()

    repo.write("feat.py", PIPELINE_STEP + "# a comment: the step's code changed, its output does not\n")
    repo.commit("touch feat")
    changed = repo.cli_json(
        "reproduce", "out/model.txt", "--upstream", "--explain", "--workdir", str(tmp_path / "b")
    )
    verdicts = [(s["job"], s["verdict"]) for s in changed["steps"]]
    assert verdicts == [("prep", "up-to-date"), ("feat", "identical"), ("train", "up-to-date")], changed
    feat = changed["steps"][1]
    assert feat["stale"] and feat["explain"] == "stale (changed: code)"
    assert changed["ok"]

    # the re-run now stands for feat's output: the pipeline is up to date
    again = repo.cli_json("reproduce", "out/model.txt", "--upstream", "--workdir", str(tmp_path / "c"))
    assert [(s["job"], s["verdict"]) for s in again["steps"]] == [
        ("prep", "up-to-date"),
        ("feat", "up-to-date"),
        ("train", "up-to-date"),
    ]
    assert again["steps"][1]["run"] == feat["run"]
    before = repo.status()
    assert (
        before == ""
        and json.loads(repo.cli("reproducible", "out/model.txt", "--json").stdout)["reproducible"]
    )


def test_a_noop_upstream_answer_is_kept_until_something_changes(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "proj", None, None)  # a project of its own: the kept answer lives in .mlineage/
    repo.cli("init")
    repo.write("data/raw.txt", "abc")
    for step in ("prep", "train"):
        repo.write(f"{step}.py", PIPELINE_STEP)
    repo.commit()
    repo.python("prep.py", "prep", "data/raw.txt", "out/clean.txt")
    repo.python("train.py", "train", "out/clean.txt", "out/model.txt")
    first = repo.cli_json("reproduce", "out/model.txt", "--upstream")
    assert [s["verdict"] for s in first["steps"]] == ["up-to-date", "up-to-date"]
    [kept] = (repo.root / ".mlineage" / "reproduce").glob("upstream-*.json")
    assert json.loads(kept.read_text())["answer"]["json"] == first
    kept.write_text(kept.read_text().replace('"up-to-date"', '"kept"'))  # to see which answer is given
    assert [s["verdict"] for s in repo.cli_json("reproduce", "out/model.txt", "--upstream")["steps"]] == [
        "kept",
        "kept",
    ]
    repo.write("train.py", PIPELINE_STEP + "# edited, not committed\n")  # git status changes
    edited = repo.cli_json("reproduce", "out/model.txt", "--upstream", "--explain")
    assert [(s["job"], s["verdict"]) for s in edited["steps"]] == [
        ("prep", "up-to-date"),
        ("train", "identical"),
    ]
    assert edited["steps"][1]["explain"] == "stale (changed: code)"
