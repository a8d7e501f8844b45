"""The gates that read the lineage graph, on SQLite and PostgreSQL: licence propagation, auditability, release
comparison, reproducibility."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlineage.gates import parse_policy
from mlineage.gates.licences import conditions_of
from mlineage.sdk.client import Client

from .helpers import chain, record, run

LICENCE = """
gates:
  - gate: licence
    for: {kind: model}
    intended_use: %s
    share_alike: warn
    unlicensed: allow
"""


def test_a_non_commercial_dataset_three_hops_up_fails_a_commercial_gate(
    client: Client, tmp_path: Path
) -> None:
    model, made = chain(client, tmp_path, 3, "nc")
    source = made[0]
    client.record_licence(source, "cc-by-nc-4.0")
    report = client.licence_report(model)
    assert report.effective.use == "non-commercial"
    (ob,) = report.obligations
    assert ob.label == source.label and ob.hops == 6  # three runs and two intermediate datasets between
    assert ob.path[0] == source.label and ob.path[-1] == model.label and "run nc-job0" in ob.path
    result = client.check([model], policy=parse_policy(LICENCE % "commercial")).results[0]
    assert result.verdict == "fail"
    use = next(c for c in result.checks if c.name == "intended use")
    assert source.label in use.message and " -> ".join(ob.path) in use.message
    assert client.check([model], policy=parse_policy(LICENCE % "non-commercial")).passed


def test_share_alike_and_attribution_are_collected(client: Client, tmp_path: Path) -> None:
    wiki = record(client, tmp_path, "wiki.txt", "text\n")
    code = record(client, tmp_path, "mit-data.csv", "a\n1\n")
    cc0 = record(client, tmp_path, "cc0.csv", "a\n2\n")
    model = record(client, tmp_path, "m.bin", "model\n", kind="model")
    run(client, [wiki, code, cc0], [model], kind="train")
    client.record_licence(wiki, "CC-BY-SA-4.0")
    client.record_licence(code, "MIT")
    client.record_licence(cc0, "CC0-1.0")
    report = client.licence_report(model)
    assert report.effective.use == "commercial"
    assert report.effective.share_alike is True and report.effective.attribution is True
    assert [o.label for o in report.bringing("share_alike")] == [wiki.label]
    assert sorted(o.label for o in report.bringing("attribution")) == sorted([wiki.label, code.label])
    result = client.check([model], policy=parse_policy(LICENCE % "commercial")).results[0]
    verdicts = {c.name: c.verdict for c in result.checks}
    assert verdicts == {"intended use": "pass", "share-alike": "warn", "attribution": "pass"}
    assert result.verdict == "warn"


def test_unlicensed_sources_are_reported(client: Client, tmp_path: Path) -> None:
    model, made = chain(client, tmp_path, 2, "bare")
    report = client.licence_report(model)
    assert report.unlicensed_count == 1 and report.unlicensed[0].label == made[0].label
    policy = parse_policy("gates:\n  - gate: licence\n    for: {kind: model}\n    unlicensed: fail\n")
    assert not client.check([model], policy=policy).passed


@pytest.mark.parametrize(
    ("text", "use", "attribution", "share_alike"),
    [
        ("MIT", "commercial", True, False),
        ("openrail", "commercial", True, True),
        ("llama2", "commercial", True, False),
        ("cc-by-nc-4.0", "non-commercial", True, False),
        ("MIT AND CC-BY-NC-SA-4.0", "non-commercial", True, True),
        ("Apache-2.0 OR CC-BY-NC-4.0", "commercial", True, False),
        ("GPL-3.0-only WITH GCC-exception-3.1", "commercial", True, True),
        ("no-such-licence-9", "unspecified", None, None),
    ],
)
def test_licence_classification(
    text: str, use: str, attribution: bool | None, share_alike: bool | None
) -> None:
    c = conditions_of(text)
    assert (c.use, c.attribution, c.share_alike) == (use, attribution, share_alike)


AUDIT = "gates:\n  - gate: auditability\n    for: {kind: model}\n"


def test_auditability(client: Client, tmp_path: Path) -> None:
    model, made = chain(client, tmp_path, 2, "aud")
    report = client.check([model], policy=parse_policy(AUDIT))
    checks = {c.name: c for c in report.results[0].checks}
    assert checks["provenance"].verdict == "fail" and checks["provenance"].measured["failing"] == 1
    assert checks["content digest"].verdict == "pass" and checks["pinned inputs"].verdict == "pass"
    client.record_source(made[0], "https://example.org/data/v1")
    assert client.check([model], policy=parse_policy(AUDIT)).passed


def test_an_input_by_mutable_name_fails_auditability(client: Client, tmp_path: Path) -> None:
    from mlineage import events as ev
    from mlineage.events import NewEvent

    named = "sha256:" + "ab" * 32
    client.append(
        [
            NewEvent(
                ev.ARTIFACT_RECORDED,
                {
                    "digest": named,
                    "kind": "dataset",
                    "name": "warehouse/orders",
                    "metadata": {"source": "openlineage", "version": None},
                },
            )
        ]
    )
    model = record(client, tmp_path, "m2.bin", "m\n", kind="model")
    run(client, [client.resolve(named)], [model], kind="train")  # type: ignore[list-item]
    client.record_source(named, "openlineage://warehouse/orders")
    checks = {c.name: c.verdict for c in client.check([model], policy=parse_policy(AUDIT)).results[0].checks}
    assert checks["pinned inputs"] == "fail" and checks["content digest"] == "fail"


RELEASE = """
gates:
  - gate: release
    for: {kind: model}
    current: %s
    metrics:
      accuracy: {direction: higher, max_regression: 0.01}
      latency_ms: {direction: lower, max_regression: 5, threshold: 100}
"""


def _evaluate(
    client: Client, model: object, data: object, seed: int, accuracy: float, latency: float
) -> None:
    run(
        client,
        [model, data],
        [],
        kind="evaluate",
        job="eval",
        params={"seed": seed},  # type: ignore[list-item]
        metrics={"accuracy": accuracy, "latency_ms": latency},
    )


def test_release_comparison_with_paired_seeds(client: Client, tmp_path: Path) -> None:
    evalset = record(client, tmp_path, "eval.csv", "x\n1\n")
    current = record(client, tmp_path, "clf.bin", "v1\n", kind="model")
    better = record(client, tmp_path, "clf.bin", "v2\n", kind="model")
    worse = record(client, tmp_path, "clf.bin", "v3\n", kind="model")
    for seed, acc in enumerate([0.80, 0.82, 0.81]):
        _evaluate(client, current, evalset, seed, acc, 50.0)
        _evaluate(client, better, evalset, seed, acc + 0.02, 48.0)
        _evaluate(client, worse, evalset, seed, acc + (0.03 if seed == 0 else -0.05), 50.0)  # one lucky run
    policy = parse_policy(RELEASE % "clf.bin@1")
    ok = client.check([better], policy=policy).results[0]
    assert ok.verdict == "pass", ok.checks
    acc = next(c for c in ok.checks if c.name == "accuracy")
    assert acc.measured["pairs"] == 3 and acc.measured["ci_low"] > 0
    bad = client.check([worse], policy=policy).results[0]
    acc = next(c for c in bad.checks if c.name == "accuracy")
    assert bad.verdict == "fail" and acc.verdict == "fail" and acc.measured["ci_low"] < -0.01


def test_release_needs_the_same_evaluation_data(client: Client, tmp_path: Path) -> None:
    current = record(client, tmp_path, "c.bin", "v1\n", kind="model")
    candidate = record(client, tmp_path, "c.bin", "v2\n", kind="model")
    _evaluate(client, current, record(client, tmp_path, "eval-a.csv", "x\n1\n"), 0, 0.8, 10)
    _evaluate(client, candidate, record(client, tmp_path, "eval-b.csv", "x\n2\n"), 0, 0.9, 10)
    result = client.check([candidate], policy=parse_policy(RELEASE % "c.bin@1")).results[0]
    assert result.verdict == "error" and "cannot compare" in result.checks[0].message
    alias = client.check([candidate], policy=parse_policy(RELEASE % "alias:production")).results[0]
    assert alias.verdict == "error" and "alias resolver" in alias.checks[0].message


def test_reproducibility(client: Client, tmp_path: Path) -> None:
    data = record(client, tmp_path, "train.csv", "x\n1\n")
    full = record(client, tmp_path, "full.bin", "1\n", kind="model")
    bare = record(client, tmp_path, "bare.bin", "2\n", kind="model")
    run(client, [data], [full], kind="train", context={"git": {"commit": "abc"}, "packages": {"numpy": "2"}})
    run(client, [data], [bare], kind="train")
    policy = parse_policy("gates:\n  - gate: reproducibility\n    for: {kind: model}\n")
    # the gate is R(m) as `mlineage reproducible` judges it: the same verdict, one check per term
    for model in (full, bare):
        report = client.check([model], policy=policy)
        assert report.passed == client.reproducible(model).reproducible
    checks = {c.name: c.verdict for c in client.check([bare], policy=policy).results[0].checks}
    assert checks["code"] == checks["environment"] == "fail", checks
    assert not client.check([bare], policy=policy).passed
