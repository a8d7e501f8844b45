"""The model registry on both metadata backends: immutable versions, aliases whose every move is recorded,
``--as-of`` resolution, a run using ``NAME@production`` linking the digest, gate-guarded promotion with a
recorded override, the compare-and-set race, and refused input."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from mlineage.errors import AliasConflictError, NotFoundError, PromotionRefusedError, ValidationError
from mlineage.gates import parse_policy
from mlineage.model import Artifact
from mlineage.registry import service
from mlineage.sdk.client import Client
from mlineage.sdk.run import run
from tests.registry.models import register_models


def test_alias_history_and_as_of(client: Client, tmp_path: Path) -> None:
    v1, v2, v3 = register_models(client, tmp_path, "fraud", 3)
    assert [v["version"] for v in (v1, v2, v3)] == [1, 2, 3]
    assert client.register_model(str(tmp_path / "fraud-1.bin"), "fraud")["existed"] is True
    first = client.set_alias("fraud", "production", "@1", reason="first release")
    second = client.set_alias("fraud", "production", v2["digest"], reason="better recall")
    client.set_alias("fraud", "production", "@3")
    removed = client.remove_alias("fraud", "production", reason="retired")

    moves = client.alias_history("fraud", "production")
    assert [(m["from"], m["to"]) for m in moves] == [(None, 1), (1, 2), (2, 3), (3, None)]
    assert [m["reason"] for m in moves] == ["first release", "better recall", "", "retired"]
    assert all(m["actor"] and m["ts"] for m in moves)
    assert removed["to"] is None

    # as it stood: by ledger seq and by time; after the removal it names nothing
    assert client.resolve_alias("fraud", "production", as_of=first["seq"])["version"] == 1
    assert client.resolve_alias("fraud", "production", as_of=f"seq:{second['seq']}")["version"] == 2
    assert client.resolve_alias("fraud", "production", as_of=second["ts"])["version"] == 2
    with pytest.raises(NotFoundError, match="no alias 'production' at"):
        client.resolve_alias("fraud", "production", as_of=first["seq"] - 1)
    with pytest.raises(NotFoundError, match="has no alias 'production'"):
        client.resolve("fraud@production")

    client.set_alias("fraud", "production", "@2")
    client.rebuild()  # the projection is a fold of the ledger: replayed, the same history and target
    assert client.alias_history("fraud", "production")[:4] == moves
    for ref in ("fraud@production", "fraud#production", "fraud@2"):
        node = client.resolve(ref)
        assert isinstance(node, Artifact) and str(node.digest) == v2["digest"]


def test_a_run_using_production_records_the_digest(client: Client, tmp_path: Path) -> None:
    v1, _ = register_models(client, tmp_path, "scorer", 2)
    client.set_alias("scorer", "production", "@1")
    with run("score", kind="evaluate", client=client, capture=False) as r:
        used = r.use("scorer@production", kind="model")
    client.set_alias("scorer", "production", "@2")  # a later move does not rewrite what the run used
    inputs, _ = client.store.io_of_run(r.id)
    assert str(used.digest) == v1["digest"]
    assert [str(a.digest) for a, _ in inputs] == [v1["digest"]]


POLICY = """gates:
  - gate: auditability
    for: {kind: model}
"""


def test_promotion_refused_by_a_failing_gate_and_the_override_recorded(client: Client, tmp_path: Path
                                                                       ) -> None:
    register_models(client, tmp_path, "ranker", 1)  # registered from a file: no run produced it
    policy = parse_policy(POLICY)
    with pytest.raises(PromotionRefusedError, match="gate 'auditability' fail"):
        client.promote("ranker@1", "production", policy=policy)
    with pytest.raises(NotFoundError):
        client.resolve("ranker@production")  # refused: nothing moved
    with pytest.raises(ValidationError, match="needs a reason"):
        client.promote("ranker@1", "production", force=True, policy=policy)
    move = client.promote("ranker@1", "production", force=True, reason="incident hotfix", policy=policy)
    assert move["override"] is True and move["refused_by"]
    (recorded,) = client.alias_history("ranker", "production")
    assert recorded["override"] is True and recorded["reason"] == "incident hotfix"
    assert recorded["gates"] == [{"gate": "auditability", "label": "auditability", "verdict": "fail"}]
    assert {e["gate"] for e in client.gate_evaluations("ranker@1")} == {"auditability"}


def test_concurrent_promotions_one_wins(store_uri: str, client: Client, tmp_path: Path) -> None:
    register_models(client, tmp_path, "race", 3)
    client.set_alias("race", "production", "@1")
    barrier = threading.Barrier(2)
    outcomes: dict[int, object] = {}

    def promote(version: int) -> None:
        mine = Client.for_uri(store_uri, tmp_path / "objects")
        try:
            seen = service.current(mine, "race", "production")  # both read @1 ...
            barrier.wait()  # ... before either writes
            assert seen is not None
            service.set_alias(mine, "race", "production", f"@{version}", expected=seen["version"])
            outcomes[version] = "won"
        except AliasConflictError as exc:
            outcomes[version] = exc
        finally:
            mine.close()

    threads = [threading.Thread(target=promote, args=(v,)) for v in (2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [v for v, o in outcomes.items() if o == "won"]
    losers = [o for o in outcomes.values() if isinstance(o, AliasConflictError)]
    assert len(winners) == 1 and len(losers) == 1
    assert "another move came first" in str(losers[0])
    moves = client.alias_history("race", "production")
    assert [(m["from"], m["to"]) for m in moves] == [(None, 1), (1, winners[0])]


def test_a_bare_registered_name_means_its_latest_version(client: Client, tmp_path: Path) -> None:
    _, latest = register_models(client, tmp_path, "clf", 2)
    node = client.resolve("clf")
    assert isinstance(node, Artifact) and str(node.digest) == latest["digest"]
    with pytest.raises(NotFoundError, match="nothing matches 'clx'"):
        client.resolve("clx")


def test_bad_input(client: Client, tmp_path: Path) -> None:
    register_models(client, tmp_path, "alpha", 2)
    (beta,) = register_models(client, tmp_path, "beta", 1)
    with pytest.raises(NotFoundError, match="no model is registered as 'nope'"):
        client.set_alias("nope", "production", "@1")
    with pytest.raises(NotFoundError, match="no model is registered as 'nope'"):
        client.resolve("nope@production")
    for alias in ("3", "v2", "1.4.0", "latest"):
        with pytest.raises(ValidationError, match="looks like a version number"):
            client.set_alias("alpha", alias, "@1")
    with pytest.raises(ValidationError, match="not a registered version of alpha"):
        client.set_alias("alpha", "production", beta["digest"])  # a version of another model
    with pytest.raises(NotFoundError, match="alpha has no version 7"):
        client.promote("alpha@7", "production")
    with pytest.raises(ValidationError, match="@-1 is not a version of alpha"):
        client.set_alias("alpha", "production", "@-1")  # it said "no alias '-1'"
    with pytest.raises(ValidationError, match="not a model name"):
        client.register_model(str(tmp_path / "alpha-0.bin"), "bad name")
    with pytest.raises(NotFoundError, match="has no alias 'staging'"):
        client.remove_alias("alpha", "staging")
    assert client.alias_history("alpha") == []


def test_deployments_and_endpoint_history(client: Client, tmp_path: Path) -> None:
    v1, v2 = register_models(client, tmp_path, "scoring", 2)
    client.set_alias("scoring", "production", "@1")
    first = client.deploy("scoring@production", "payments", "prod")
    client.set_alias("scoring", "production", "@2")
    client.deploy("scoring@production", "payments", "prod", reason="recall")
    history = client.endpoint_history("payments")
    assert [(d["version"], d["alias"], d["digest"]) for d in history] == [
        (1, "production", v1["digest"]), (2, "production", v2["digest"])]
    assert history[1]["reason"] == "recall" and history[0]["actor"]
    # the deployment is a run that used the model: the endpoint is downstream of the model in the graph
    run = client.store.get_run(first["run_id"])
    assert run is not None and run.kind.value == "deploy"
    assert [r.id for r in client.store.consumers_of(v1["digest"])] == [first["run_id"]]
    with pytest.raises(NotFoundError, match="nothing was deployed to endpoint 'other'"):
        client.endpoint_history("other")
    with pytest.raises(NotFoundError, match="has no alias 'staging'"):
        client.deploy("scoring@staging", "payments", "prod")


def test_rollback_skips_the_versions_a_bad_dataset_reached(client: Client, tmp_path: Path) -> None:
    """Five versions, two trained on a bad dataset: the rollback lands on the newest clean one and names the
    skipped ones with their path; with every version tainted it changes nothing."""
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text("x\n1\n")
    bad.write_text("x\n-1\n")
    versions = []
    for i, data in enumerate([good, good, good, bad, bad]):
        out = tmp_path / f"clf-{i}.bin"
        out.write_text(f"weights {i}\n")
        with run(f"train{i}", kind="train", client=client, capture=False) as r:
            r.use(str(data))
            model = r.produce(str(out))
        versions.append(client.register_model(model, "clf"))
    client.set_alias("clf", "production", "@3")
    client.deploy("clf@production", "scoring", "prod")
    client.set_alias("clf", "production", "@5")
    client.deploy("clf@production", "scoring", "prod")
    client.set_alias("clf", "staging", "@4")
    client.set_alias("clf", "staging", "@2")
    opened = client.open_incident(str(bad), reason="negative amounts")
    hit = client.incident_impact(opened["id"])
    assert [(v["name"], v["version"]) for v in hit["versions"]] == [("clf", 4), ("clf", 5)]
    assert all(len(v["path"]) == 3 for v in hit["versions"])
    assert [(a["alias"], a["now"]) for a in hit["aliases"]] == [("production", True), ("staging", False)]
    assert [(e["endpoint"], e["version"], e["now"]) for e in hit["endpoints"]] == [("scoring", 5, True)]

    move = client.rollback_alias("clf", "production", opened["id"], reason="rollback")
    assert (move["from"], move["to"]) == (5, 3)
    assert [s["version"] for s in move["skipped"]] == [5, 4]
    bad_data, trained_by, model_label = move["skipped"][0]["path"]  # bad data -> training run -> model
    assert move["excluding"].startswith(bad_data) and trained_by.startswith("train4 ")
    assert versions[4]["digest"].startswith(model_label)
    assert f"incident {opened['id']}" in move["reason"] and "skipped @5, @4" in move["reason"]
    closed = client.close_incident(opened["id"], "rolled back to @3; extract fixed")
    assert closed["resolution"] and closed["closed_by"]
    with pytest.raises(AliasConflictError, match="already closed"):
        client.close_incident(opened["id"], "again")

    (only,) = register_models(client, tmp_path, "tainted", 1)
    client.set_alias("tainted", "production", "@1")
    with pytest.raises(NotFoundError, match="no version of tainted is free of"):
        client.rollback_alias("tainted", "production", only["digest"])
    assert client.resolve_alias("tainted", "production")["version"] == 1


def test_the_release_gate_reads_an_alias_through_the_registry(client: Client, tmp_path: Path) -> None:
    from mlineage.gates.release import current_ref

    (v1,) = register_models(client, tmp_path, "champ", 1)
    client.set_alias("champ", "production", "@1")
    ref = current_ref("alias:champ@production")  # the policy's ``current: alias:champ@production``
    assert str(client.resolve(ref).digest) == v1["digest"]


def test_approval_states_with_who_and_why_and_promotion_respects_them(client: Client, tmp_path: Path) -> None:
    register_models(client, tmp_path, "appr", 2)
    assert [v["approval"] for v in client.model_versions("appr")] == ["pending", "pending"]
    with pytest.raises(ValidationError, match="a rejection needs a reason"):
        client.set_approval("appr@1", "rejected")
    rejected = client.set_approval("appr@1", "rejected", reason="leaks PII in features")
    assert (rejected["approval"], rejected["approval_reason"]) == ("rejected", "leaks PII in features")
    assert rejected["approval_by"]
    with pytest.raises(ValidationError, match="already rejected"):
        client.set_approval("appr@1", "rejected", reason="again")
    with pytest.raises(ValidationError, match="not an approval state"):
        client.set_approval("appr@1", "shipped")
    with pytest.raises(PromotionRefusedError, match="appr@1 was rejected by .*leaks PII"):
        client.promote("appr@1", "production")
    forced = client.promote("appr@1", "production", force=True, reason="regulator demo only")
    assert forced["override"] and forced["gates"] == [{"gate": "approval", "label": "approval",
                                                       "verdict": "fail"}]
    client.set_approval("appr@2", "approved", reason="reviewed")
    assert client.promote("appr@2", "production")["override"] is False
    history = client.approvals("appr")
    assert [(a["version"], a["state"]) for a in history] == [(1, "rejected"), (2, "approved")]
    client.rebuild()
    assert client.approvals("appr") == history
    with pytest.raises(NotFoundError, match="appr has no version 9"):
        client.set_approval("appr@9", "approved")


def test_require_approval_refuses_a_pending_version(client: Client, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    register_models(client, tmp_path, "gated", 1)
    monkeypatch.setattr(service, "required_approval", lambda _c: frozenset({"production"}))
    with pytest.raises(PromotionRefusedError, match="pending and production requires an approved version"):
        client.promote("gated@1", "production")
    client.promote("gated@1", "staging")  # only the listed aliases need approval
    client.set_approval("gated@1", "approved")
    assert client.promote("gated@1", "production")["to"] == 1


def test_rollback_spellings_are_told_apart() -> None:
    """`mlineage rollback NAME --to REF` is a dataset's rollback, `rollback NAME ALIAS --excluding REF` a
    model alias's; a mix of the two is refused before anything is read."""
    from click.testing import CliRunner

    from mlineage.cli.main import cli, load_all_commands

    load_all_commands()
    runner = CliRunner()
    for args in (["clf"], ["clf", "production"], ["clf", "--excluding", "bad.csv"],
                 ["clf", "production", "--to", "clf@1", "--excluding", "bad.csv"]):
        done = runner.invoke(cli, ["rollback", *args])
        assert done.exit_code == 2 and "rollback NAME" in done.output, (args, done.output)
