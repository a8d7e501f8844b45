"""Output formats (JSON against its schema, DOT through a real parser, Mermaid by a strict structural check),
time travel, closure, lineage diff, and every lineage command through the real CLI entry point."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pydot
import pytest
from click.testing import CliRunner

from mlineage import events as ev
from mlineage.cli.main import cli
from mlineage.errors import NotFoundError, ValidationError
from mlineage.events import NewEvent
from mlineage.formats import LINEAGE_JSON_SCHEMA, to_dot, to_mermaid

from .helpers import digest

RAW, CLEAN, MODEL, MODEL2, CODE = (digest("p", i) for i in range(5))


def parse_dot(text: str) -> Any:
    """Parse with pydot's real DOT grammar (its pyparsing use warns about deprecated names: not ours)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydot.graph_from_dot_data(text)


def pipeline(client: Any, *, second_lr: float = 0.2) -> None:
    """raw -> prep -> clean -> train -> model (v1); raw+clean -> train2 -> model2, with an awkward name."""
    client.append(
        [
            NewEvent(
                ev.ARTIFACT_RECORDED, {"digest": RAW, "kind": "dataset", "name": 'raw "quoted" <data> | #1'}
            ),
            NewEvent(ev.ARTIFACT_RECORDED, {"digest": CODE, "kind": "code", "name": "train.py"}),
            NewEvent(
                ev.RUN_STARTED,
                {
                    "run_id": "prep1",
                    "job": "prep",
                    "kind": "transform",
                    "params": {"frac": 0.2},
                    "context": {"git": {"commit": "a" * 40, "branch": "main"}, "python": "3.11.7"},
                },
            ),
            NewEvent(ev.ARTIFACT_USED, {"run_id": "prep1", "digest": RAW}),
            NewEvent(ev.ARTIFACT_RECORDED, {"digest": CLEAN, "kind": "dataset", "name": "clean"}),
            NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": "prep1", "digest": CLEAN}),
            NewEvent(
                ev.RUN_STARTED,
                {
                    "run_id": "train1",
                    "job": "train",
                    "kind": "train",
                    "params": {"lr": 0.1},
                    "context": {"git": {"commit": "b" * 40}, "python": "3.11.7"},
                },
            ),
            NewEvent(ev.ARTIFACT_USED, {"run_id": "train1", "digest": CLEAN, "role": "train"}),
            NewEvent(ev.ARTIFACT_USED, {"run_id": "train1", "digest": CODE}),
            NewEvent(ev.ARTIFACT_RECORDED, {"digest": MODEL, "kind": "model", "name": "clf"}),
            NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": "train1", "digest": MODEL}),
        ]
    )
    client.append(
        [
            NewEvent(
                ev.RUN_STARTED,
                {
                    "run_id": "train2",
                    "job": "train",
                    "kind": "train",
                    "params": {"lr": second_lr},
                    "context": {"git": {"commit": "c" * 40}, "python": "3.12.1"},
                },
            ),
            NewEvent(ev.ARTIFACT_USED, {"run_id": "train2", "digest": CLEAN, "role": "train"}),
            NewEvent(ev.ARTIFACT_USED, {"run_id": "train2", "digest": RAW}),
            NewEvent(ev.ARTIFACT_RECORDED, {"digest": MODEL2, "kind": "model", "name": "clf"}),
            NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": "train2", "digest": MODEL2}),
        ]
    )


def test_json_matches_schema(client: Any) -> None:
    pipeline(client)
    for result in (
        client.trace("clf@2"),
        client.impact(RAW, depth=1),
        client.trace("clf@1", kinds=["dataset"]),
    ):
        document = json.loads(json.dumps(result.to_dict()))
        jsonschema.validate(document, LINEAGE_JSON_SCHEMA)
    assert {n["name"] for n in client.trace("clf@1", kinds=["dataset"]).to_dict()["nodes"]} == {
        "clf", "clean", 'raw "quoted" <data> | #1'}


def test_dot_parses_with_every_node_and_edge(client: Any) -> None:
    pipeline(client)
    result = client.impact(RAW)
    graphs = parse_dot(to_dot(result.nodes, result.edges, result.root))
    assert graphs is not None and len(graphs) == 1
    graph = graphs[0]
    assert {n.get_name() for n in graph.get_nodes()} - {"node"} == {f"n{i}" for i in result.nodes}
    assert len(graph.get_edges()) == len(result.edges) == 7
    labels = [n.get("label") for n in graph.get_nodes()]
    assert any('\\"quoted\\"' in (label or "") for label in labels)


_MERMAID_NODE = re.compile(r'^  n\d+(\["[^"\[\]\n]*"\]|\(\["[^"\[\]\n]*"\]\))$')
_MERMAID_EDGE = re.compile(r'^  n\d+ -->\|"[^"|\n]*"\| n\d+$')
_MERMAID_CLASS = re.compile(r"^  (classDef root stroke-width:3px|class n\d+ root)$")


def check_mermaid(text: str) -> tuple[set[str], list[tuple[str, str]]]:
    """A strict check of the subset of Mermaid flowchart syntax we emit: every line must be one of our
    statements, labels quoted with no raw quote, bracket or pipe inside, edges joining declared nodes."""
    lines = text.rstrip("\n").split("\n")
    assert lines[0] == "flowchart LR"
    declared: set[str] = set()
    edges: list[tuple[str, str]] = []
    for line in lines[1:]:
        if _MERMAID_NODE.match(line):
            declared.add(line.split("[", 1)[0].split("(", 1)[0].strip())
        elif _MERMAID_EDGE.match(line):
            parts = line.split()
            edges.append((parts[0], parts[-1]))
        else:
            assert _MERMAID_CLASS.match(line), line
    assert all(a in declared and b in declared for a, b in edges)
    return declared, edges


def test_mermaid_is_well_formed(client: Any) -> None:
    pipeline(client)
    result = client.trace("clf@2")
    declared, edges = check_mermaid(to_mermaid(result.nodes, result.edges, result.root))
    assert declared == {f"n{i}" for i in result.nodes} and len(edges) == len(result.edges)


def test_time_travel_by_seq_and_timestamp(client: Any) -> None:
    pipeline(client)
    seq_after_first, _ = client.store.head()
    before = set(client.trace(MODEL2).depth)
    time.sleep(0.01)
    moment = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    client.append([NewEvent(ev.ARTIFACT_DERIVED, {"parent": MODEL, "child": MODEL2, "role": "finetune"})])
    now = client.trace(MODEL2)
    assert client.store.node_id(client.query(MODEL).start) in now.depth
    for as_of in (moment, f"seq:{seq_after_first}", seq_after_first):
        then = client.trace(MODEL2, as_of=as_of)
        assert set(then.depth) == before and len(before) < len(now.depth)
        assert all(t != "DERIVED_FROM" for _p, _c, t, _r in then.edges)
    with pytest.raises(NotFoundError):
        client.trace(MODEL2, as_of="2000-01-01")
    with pytest.raises(ValidationError):
        client.trace(MODEL2, as_of="yesterday")


def test_closure_reports_anchors_and_missing_blobs(client: Any, tmp_path: Path) -> None:
    data = tmp_path / "raw.csv"
    data.write_text("a,b\n1,2\n")
    stored = client.record_artifact(data, kind="dataset", name="stored")
    pipeline(client)
    client.append([NewEvent(ev.ARTIFACT_USED, {"run_id": "prep1", "digest": str(stored.digest)})])
    closure = client.closure("clf@1")
    anchors = {(a.category, a.ref): a for a in closure.anchors}
    assert anchors[("data", "stored@1")].present is True
    assert anchors[("data", str(RAW))].present is False if ("data", str(RAW)) in anchors else True
    assert ("code", "git:" + "a" * 40) in anchors and ("code", "git:" + "b" * 40) in anchors
    assert ("code", "train.py@1") in anchors and anchors[("code", "train.py@1")].present is False
    assert any(a.category == "environment" and a.detail.get("python") == "3.11.7" for a in closure.anchors)
    assert [a.ref for a in closure.intermediates] == ["clean@1"]
    assert not closure.reproducible
    assert any("is not in the artifact store" in m for m in closure.missing)


def test_closure_treats_an_ingest_output_as_a_source(client: Any) -> None:
    pipeline(client)
    fetched = digest("p", 9)
    client.append([
        NewEvent(ev.RUN_STARTED, {"run_id": "ingest1", "job": "ingest", "kind": "ingest", "params": {},
                                  "context": {"git": {"commit": "d" * 40}, "python": "3.11.7"}}),
        NewEvent(ev.ARTIFACT_RECORDED, {"digest": fetched, "kind": "dataset", "name": "fetched"}),
        NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": "ingest1", "digest": fetched}),
        NewEvent(ev.ARTIFACT_USED, {"run_id": "prep1", "digest": fetched}),
    ])
    closure = client.closure("clf@1")
    assert ("data", "fetched@1") in {(a.category, a.ref) for a in closure.anchors}
    assert [a.ref for a in closure.intermediates] == ["clean@1"]


def test_lineage_diff_names_what_changed(client: Any) -> None:
    pipeline(client, second_lr=0.5)
    diff = client.lineage_diff("clf@1", "clf@2")
    rows = {(d.aspect, d.key): d for d in diff.differences}
    assert rows[("param", "train.lr")].a == "0.1" and rows[("param", "train.lr")].b == "0.5"
    assert rows[("code", "train git commit")].change == "changed"
    assert rows[("environment", "train.python")].b == "3.12.1"
    assert rows[("code", "train.py")].change == "only in A"
    assert ("dataset", "clean") not in rows and diff.same > 0
    assert client.lineage_diff("clf@1", "clf@1").differences == []


def test_lineage_record_includes_parents(client: Any) -> None:
    pipeline(client)
    record = client.lineage_record("clf@1")
    assert {str(a.digest) for a in record.parent_artifacts} == {CLEAN, CODE}


# ---------------------------------------------------------------- CLI


@pytest.fixture
def cli_env(client: Any, store_uri: str, tmp_path: Path) -> dict[str, str]:
    pipeline(client)
    return {"MLINEAGE_URI": store_uri, "MLINEAGE_ARTIFACTS": str(tmp_path / "objects")}


def invoke(env: dict[str, str], *args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def test_cli_trace_formats(cli_env: dict[str, str]) -> None:
    document = json.loads(invoke(cli_env, "trace", "clf@2", "--json").output)
    jsonschema.validate(document, LINEAGE_JSON_SCHEMA)
    assert document["count"] == 4 and document["truncated"] == []
    cut = json.loads(invoke(cli_env, "impact", RAW, "--depth", "1", "--format", "json").output)
    assert cut["count"] == 2 and cut["truncated"]
    assert parse_dot(invoke(cli_env, "trace", "clf@2", "--format", "dot").output)
    check_mermaid(invoke(cli_env, "impact", RAW, "--format", "mermaid").output)
    tree = invoke(cli_env, "trace", "clf@1").output
    assert "5 ancestors" in tree and "PRODUCED" in tree
    limited = invoke(cli_env, "impact", RAW, "--limit", "1").output
    assert "truncated: limit 1 reached" in limited
    kinds = json.loads(invoke(cli_env, "trace", "clf@2", "--kind", "dataset", "--json").output)
    assert {n["kind"] for n in kinds["nodes"][1:]} == {"dataset"}


def test_cli_path_closure_diff(cli_env: dict[str, str]) -> None:
    path = json.loads(invoke(cli_env, "path", RAW, "clf@2", "--json").output)
    assert path["found"] and path["total_paths"] == 2 and path["paths"][0][0] == RAW
    assert "chain 1" in invoke(cli_env, "path", "clf@2", RAW).output
    closure = json.loads(invoke(cli_env, "closure", "clf@1", "--json", code=1).output)  # exit 1: a gate
    assert closure["reproducible"] is False and closure["anchors"]
    assert "not reproducible" in invoke(cli_env, "closure", "clf@1", code=1).output
    diff = json.loads(invoke(cli_env, "lineage-diff", "clf@1", "clf@2", "--json").output)
    assert any(d["key"] == "train.lr" for d in diff["differences"])
    assert "train.lr" in invoke(cli_env, "lineage-diff", "clf@1", "clf@2").output


def test_cli_huge_result_shows_counts_not_a_tree(store_uri: str, tmp_path: Path, store: Any) -> None:
    from bench import graphgen

    graphgen.insert(store, graphgen.fan_out(3001), "wide")
    env = {"MLINEAGE_URI": store_uri, "MLINEAGE_ARTIFACTS": str(tmp_path / "objects")}
    out = invoke(env, "impact", graphgen.digest_of("wide", 0)).output
    assert "3,000 descendants" in out and "too many to draw" in out and "1 hop: 3,000" in out
    refused = CliRunner().invoke(cli, ["impact", graphgen.digest_of("wide", 0), "--format", "dot", "--limit",
                                       "20000"], env=env)
    assert refused.exit_code == 0  # 3,001 nodes is below the diagram bound
