"""``mlineage reproduce`` end to end: real git repositories, real scripts as subprocesses, both backends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlineage.reproduce.records import reproductions_of
from mlineage.stores.sql import SqlStore

from .helpers import NOISY, SCORE, Repo

pytestmark = pytest.mark.full_capture


@pytest.fixture
def repo(store_uri: str, tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "repo", store_uri, tmp_path / "objects")
    r.write("data/in.json", json.dumps([1, 2, 3, 4]))
    return r


def _verdicts(store_uri: str, run_id: str) -> list[dict[str, object]]:
    store = SqlStore(store_uri)
    try:
        return reproductions_of(store, run_id)
    finally:
        store.close()


def test_a_bit_identical_reproduce_is_recorded_and_leaves_the_tree_alone(
    repo: Repo, store_uri: str, tmp_path: Path
) -> None:
    repo.write("score.py", SCORE.replace("FACTOR", "1"))
    repo.commit()
    repo.python("score.py", "2")
    before = repo.status()
    assert repo.cli("reproducible", "out/metrics.json").returncode == 0
    result = repo.cli_json("reproduce", "out/metrics.json", "--workdir", str(tmp_path / "work"))
    [step] = result["steps"]
    assert result["ok"] and step["verdict"] == "identical"
    assert [o["verdict"] for o in step["outputs"]] == ["identical"]
    assert repo.status() == before and json.loads((repo.root / "out/metrics.json").read_text()) == {
        "total": 20.0
    }
    [verdict] = _verdicts(store_uri, step["original_run"])
    assert verdict["run_id"] == step["run"] and verdict["verdict"] == "identical"
    shown = repo.cli_json("show", f"run:{step['run']}")
    assert shown["reproducibility"]["reproducible"] is True
    trace = repo.cli_json("trace", f"run:{step['run']}")
    assert any(e["type"] == "REPRODUCES" for e in trace["edges"])


def test_a_nondeterministic_script_is_equivalent_within_tolerance_and_not_outside(
    repo: Repo, tmp_path: Path
) -> None:
    repo.write("noisy.py", NOISY)
    repo.commit()
    repo.python("noisy.py", "1e-7")
    close = repo.cli_json("reproduce", "out/pred.npy", "--rtol", "1e-3", "--workdir", str(tmp_path / "a"))
    [step] = close["steps"]
    assert close["ok"] and step["verdict"] == "equivalent"
    assert {o["verdict"] for o in step["outputs"]} == {"equivalent"}
    assert all(0 < o["max_rel"] < 1e-3 for o in step["outputs"])
    tight = repo.cli_json(
        "reproduce", "out/pred.npy", "--rtol", "1e-12", "--workdir", str(tmp_path / "b"), code=1
    )
    [step] = tight["steps"]
    assert not tight["ok"] and step["verdict"] == "different"
    assert any("recorded" in d and "reproduced" in d for o in step["outputs"] for d in o["differences"])


def test_a_dirty_tree_is_reproduced_from_the_stored_diff(repo: Repo, tmp_path: Path) -> None:
    repo.write("score.py", SCORE.replace("FACTOR", "1"))
    repo.commit()
    repo.write("score.py", SCORE.replace("FACTOR", "10"))  # uncommitted: only the stored diff has it
    repo.python("score.py", "1")
    assert json.loads((repo.root / "out/metrics.json").read_text()) == {"total": 100.0}
    report = repo.cli_json("reproducible", "out/metrics.json")
    code = next(t for t in report["runs"][0]["terms"] if t["term"] == "code")
    assert code["ok"] and any("uncommitted diff" in e and "stored" in e for e in code["evidence"])
    result = repo.cli_json("reproduce", "out/metrics.json", "--workdir", str(tmp_path / "w"))
    assert result["steps"][0]["verdict"] == "identical"
    assert (
        "10" in (tmp_path / "w" / "tree" / "score.py").read_text().split("FACTOR")[0]
        or "* 10" in (tmp_path / "w" / "tree" / "score.py").read_text()
    )


def test_missing_pieces_fail_their_term_with_an_actionable_reason(repo: Repo, tmp_path: Path) -> None:
    repo.write("score.py", SCORE.replace("FACTOR", "1"))
    repo.commit()
    repo.python("score.py", "3")
    data_digest = repo.cli_json("show", "out/metrics.json")["produced_by"][0]["id"]
    inputs = repo.cli_json("show", f"run:{data_digest}")["inputs"]
    data = next(i for i in inputs if i["role"] is None)["digest"]
    blob = next(repo.objects.rglob(data.split(":")[1][2:]))
    blob.unlink()
    done = repo.cli("reproducible", "out/metrics.json", check=False)
    assert done.returncode == 1 and "data" in done.stdout and "FAIL" in done.stdout
    assert f"input {data[:19]}…" in done.stdout and "is not in the artifact store" in done.stdout
    closure = repo.cli("closure", "out/metrics.json", check=False)
    assert closure.returncode == 1  # one answer, one exit code
    refused = repo.cli("reproduce", "out/metrics.json", check=False)
    assert refused.returncode == 1 and "error: run" in refused.stderr and "not reproducible" in refused.stderr


def test_a_commit_missing_from_the_repository_is_named(repo: Repo, store_uri: str, tmp_path: Path) -> None:
    repo.write("score.py", SCORE.replace("FACTOR", "1"))
    repo.commit()
    repo.python("score.py", "1")
    other = Repo(tmp_path / "elsewhere", store_uri, repo.objects)
    other.write("x.py", "print(1)\n")
    other.commit()
    done = other.cli("reproduce", str(repo.root / "out/metrics.json"), check=False)
    assert (
        done.returncode == 1
        and "not found in this repository" in done.stderr
        and "(fetch it?)" in done.stderr
    )


def test_strict_refuses_a_different_environment(
    repo: Repo, store_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlineage.capture import environment
    from mlineage.errors import MlineageError
    from mlineage.reproduce.materialise import package_differences
    from mlineage.reproduce.rerun import ReproduceOptions
    from mlineage.sdk.client import Client

    assert package_differences({"numpy": "2.4.6", "a": "1"}, {"numpy": "2.3.0", "b": "2"}) == [
        "a 1 recorded, not installed",
        "b 2 installed, not recorded",
        "numpy 2.4.6 recorded, 2.3.0 installed",
    ]
    repo.write("score.py", SCORE.replace("FACTOR", "1"))
    repo.commit()
    repo.python("score.py", "1")
    items, digest = environment.packages()
    changed = tuple((n, "0.0.1" if n == "numpy" else v) for n, v in items)
    monkeypatch.setattr(environment, "packages", lambda: (changed, digest))
    monkeypatch.chdir(repo.root)
    client = Client.for_uri(store_uri, repo.objects)
    try:
        with pytest.raises(MlineageError, match=r"environment differs: numpy \S+ recorded, 0.0.1 installed"):
            client.reproduce("out/metrics.json", ReproduceOptions(strict=True, workdir=tmp_path / "w"))
        assert not (tmp_path / "w" / "tree").exists()
    finally:
        client.close()


def test_gc_keeps_the_stored_diff_a_dirty_run_needs(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "proj", None, None)  # a project: gc works on its cache
    repo.cli("init")
    repo.write("data/in.json", json.dumps([1, 2]))
    repo.write("score.py", SCORE.replace("FACTOR", "1"))
    repo.commit()
    repo.write("score.py", SCORE.replace("FACTOR", "7"))
    repo.write("helper.py", "X = 1\n")  # an untracked source file: stored too
    repo.python("score.py", "1")
    repo.cli("gc", "--force")
    report = repo.cli_json("reproducible", "out/metrics.json")
    assert report["reproducible"], report
    result = repo.cli_json("reproduce", "out/metrics.json", "--workdir", str(tmp_path / "w"))
    assert result["steps"][0]["verdict"] == "identical"
    assert (tmp_path / "w" / "tree" / "helper.py").read_text() == "X = 1\n"


def test_an_input_pushed_to_the_remote_is_retrievable_and_fetched(tmp_path: Path) -> None:
    """R(m)'s data term counts bytes on the project's push remote: the local blob deleted after ``mlineage
    push``, the model is still reproducible and ``reproduce`` fetches the input back; deleted from the remote
    too, it is not."""
    repo = Repo(tmp_path / "proj", None, None)
    repo.cli("init")
    repo.write("data/in.json", json.dumps([1, 2]))
    repo.write("score.py", SCORE.replace("FACTOR", "1"))
    repo.commit()
    repo.python("score.py", "2")
    remote = tmp_path / "remote"
    with (repo.root / ".mlineage" / "config.toml").open("a") as config:
        config.write(f"\n[remote]\nuri = {str(remote)!r}\n")
    repo.cli("push", "--all")
    run_id = repo.cli_json("show", "out/metrics.json")["produced_by"][0]["id"]
    data = next(i for i in repo.cli_json("show", f"run:{run_id}")["inputs"] if i["role"] is None)["digest"]
    local = repo.root / ".mlineage" / "objects" / "sha256" / data[7:9] / data[9:]
    local.unlink()
    report = repo.cli_json("reproducible", "out/metrics.json")
    assert report["reproducible"], report
    result = repo.cli_json("reproduce", "out/metrics.json", "--workdir", str(tmp_path / "w"))
    assert result["steps"][0]["verdict"] == "identical" and local.is_file()  # fetched into the cache
    local.unlink()
    (remote / "sha256" / data[7:9] / data[9:]).unlink()
    done = repo.cli("reproducible", "out/metrics.json", check=False)
    assert done.returncode == 1 and f"input {data[:19]}…" in done.stdout
