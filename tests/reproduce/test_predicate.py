"""R(m) term by term on hand-made facts: each required term fails with its own reason, the advisory
determinism term never fails R, and a missing intermediate counts only when judged recursively."""

from __future__ import annotations

from typing import Any

from mlineage.reproduce import InputFact, Reproducibility, RunFacts, assess, predicate
from mlineage.reproduce.predicate import command_of

D = "sha256:" + "ab12" * 16
C = "sha256:" + "c0de" * 16
E = "sha256:" + "e0e0" * 16
DIFF = "sha256:" + "d1ff" * 16


def facts(**changes: Any) -> RunFacts:
    base: dict[str, Any] = {
        "run_id": "r1" * 8,
        "job": "train",
        "context": {
            "git": {"commit": "3f2c" * 10, "branch": "main", "dirty": False},
            "python": {"version": "3.11.7"},
            "environment": {"packages_digest": E},
            "argv": ["train.py", "--epochs", "3"],
            "determinism": {"env": {"PYTHONHASHSEED": "0"}},
        },
        "params": {"seed": 7, "lr": 0.1},
        "inputs": (InputFact(D, "data/train.csv", present=True),),
        "code_manifest": InputFact(C, "code", "code", True),
        "environment_manifest": InputFact(E, "env", "environment"),
    }
    base.update(changes)
    return RunFacts(**base)


def failing(verdict: Any) -> dict[str, tuple[str, ...]]:
    return {t.name: t.reasons for t in verdict.terms if not t.ok}


def test_a_complete_record_is_reproducible_with_evidence_for_every_term() -> None:
    verdict = predicate(facts())
    assert verdict.ok and failing(verdict) == {}
    evidence = {t.name: " ".join(t.evidence) for t in verdict.terms}
    assert "data/train.csv" in evidence["data"] and "3f2c3f2c3f2c" in evidence["code"]
    assert "python 3.11.7" in evidence["environment"] and "train.py --epochs 3" in evidence["command"]
    assert "seed param seed=7" in evidence["determinism"] and "PYTHONHASHSEED=0" in evidence["determinism"]


def test_data_fails_when_an_input_is_not_retrievable() -> None:
    verdict = predicate(facts(inputs=(InputFact(D, "data/train.csv", present=False),)))
    assert not verdict.ok
    assert failing(verdict)["data"] == (
        (
            "input sha256:ab12ab12ab12… (data/train.csv) is not in the artifact store "
            "(local cache or remote); push it from a machine that has it (`mlineage push`)"
        ),
    )


def test_code_fails_without_a_commit_or_with_an_unstored_diff() -> None:
    no_code = predicate(facts(context={**facts().context, "git": None}, code_manifest=None))
    assert "no git commit and no code manifest recorded" in failing(no_code)["code"][0]
    dirty = {"commit": "3f2c" * 10, "dirty": True, "changed_files": 1, "diff_sha256": DIFF}
    unstored = predicate(facts(context={**facts().context, "git": dirty}, diff_present=False))
    assert "recorded by digest only" in failing(unstored)["code"][0]
    stored = predicate(facts(context={**facts().context, "git": dirty}, diff_present=True))
    assert stored.ok and "uncommitted diff sha256:d1ffd1ffd1ff…: stored" in stored.term("code").evidence
    unrecorded = predicate(facts(context={**facts().context, "git": {**dirty, "diff_sha256": None}}))
    assert "the uncommitted diff was not recorded" in failing(unrecorded)["code"][0]


def test_environment_fails_without_a_package_manifest_or_with_an_unpinned_image() -> None:
    bare = predicate(facts(context={**facts().context, "environment": None}, environment_manifest=None))
    assert "no package manifest recorded" in failing(bare)["environment"][0]
    gone = predicate(facts(environment_manifest=InputFact(E, "env", "environment", present=False)))
    assert "the package list cannot be compared" in failing(gone)["environment"][0]
    tagged = predicate(facts(unpinned_image="python:3.11"))
    assert "container image python:3.11 is not pinned" in failing(tagged)["environment"][0]


def test_command_fails_for_an_interactive_session_unless_a_command_is_stored() -> None:
    notebook = facts(context={**facts().context, "argv": ["/x/ipykernel_launcher.py", "-f", "k.json"]})
    assert "started interactively" in failing(predicate(notebook))["command"][0]
    stored = facts(context={**notebook.context, "reproduce": {"command": ["make", "train"]}})
    assert predicate(stored).ok and command_of(stored.context) == ["make", "train"]
    assert command_of({"argv": ["-c"]}) is None


def test_determinism_is_advisory() -> None:
    verdict = predicate(facts(params={"lr": 0.1}, context={**facts().context, "determinism": {}}))
    assert verdict.ok and not verdict.term("determinism").ok
    assert "no seed among the parameters" in verdict.term("determinism").reasons[0]


def test_a_missing_intermediate_is_regenerable_only_when_judged_recursively() -> None:
    mid = "sha256:" + "0123" * 16
    prep = facts(run_id="prep" * 4, job="prep")
    train = facts(run_id="tr" * 8, inputs=(InputFact(mid, "clean.csv", present=False, producer="prep" * 4),))
    direct = assess("m", [train], ["tr" * 8], recursive=False)
    assert not direct.reproducible and "reproduce that first" in direct.reasons()[0]
    whole = assess("m", [train, prep], ["tr" * 8], recursive=True)
    assert whole.reproducible and [r.job for r in whole.judged] == ["train", "prep"]
    assert "regenerable by run prepprepprep" in whole.runs[0].term("data").evidence[0]
    broken = assess(
        "m",
        [train, facts(run_id="prep" * 4, job="prep", inputs=(InputFact(D, "raw", present=False),))],
        ["tr" * 8],
        recursive=True,
    )
    assert not broken.reproducible and len(broken.reasons()) == 2


def test_the_report_round_trips_through_its_json() -> None:
    report = assess("m", [facts()], ["r1" * 8], recursive=True, source=None)
    assert Reproducibility.from_dict(report.to_dict()).to_dict() == report.to_dict()
    source = assess("raw", [], [], source=InputFact(D, "raw.csv", present=False))
    assert not source.reproducible and "has no producing run" in source.reasons()[0]
