"""The explorer's views through the Client (on both backends): grouping of big fan-ins, opening a group,
the size cap, hop counts, as-of, search and the diff graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from bench import graphgen

from mlineage.errors import NotFoundError, ValidationError
from mlineage.graph.explore import ViewOptions
from mlineage.sdk.client import Client
from mlineage.stores.sql import SqlStore


def _fan_in(client: Client, n: int) -> str:
    """Node 0 derived from nodes 1..n-1 (a big fan-in); node 1 from a chain of two more."""
    assert isinstance(client.store, SqlStore)
    parent = np.concatenate([np.arange(1, n), [n, n + 1]])
    child = np.concatenate([np.zeros(n - 1, np.int64), [1, n]])
    graphgen.insert(client.store, graphgen.Shape(n + 2, parent.astype(np.int64), child.astype(np.int64)), "f")
    return graphgen.digest_of("f", 0)


def test_a_big_fan_in_is_one_group_until_opened(client: Client) -> None:
    root = _fan_in(client, 30)
    view = client.explore(root, ViewOptions(depth=1, group_min=12))
    groups = [n for n in view["nodes"] if n["type"] == "group"]
    assert [(g["count"], g["side"], g["owner"], g["label"]) for g in groups] == [
        (29, "up", root, "+29 upstream")]
    assert [e for e in view["edges"] if e["type"] == "GROUP"] == [
        {"source": groups[0]["key"], "target": root, "type": "GROUP"}]
    opened = client.explore(root, ViewOptions(depth=1, group_min=12, expand=(f"up:{root}",)))
    layers = {n["key"]: n["layer"] for n in opened["nodes"]}
    assert len(layers) == 30 and not [n for n in opened["nodes"] if n["type"] == "group"]
    assert set(layers.values()) == {0, -1}  # opened to one hop; the chain behind node 1 is counted, not drawn
    one = graphgen.digest_of("f", 1)
    (shown,) = [n for n in opened["nodes"] if n["key"] == one]
    assert shown["hidden_up"] == 1 and shown["x"] < 0
    deeper = client.explore(root, ViewOptions(depth=1, expand=(f"up:{root}", f"up:{one}")))
    assert len(deeper["nodes"]) == 31
    two_hops = client.explore(root, ViewOptions(depth=2, group_min=100))
    assert len(two_hops["nodes"]) == 31  # ungrouped


def test_the_size_cap_groups_the_rest_and_says_so(client: Client) -> None:
    root = _fan_in(client, 30)
    view = client.explore(root, ViewOptions(depth=1, max_nodes=10, expand=(f"up:{root}",)))
    assert len([n for n in view["nodes"] if n["type"] != "group"]) == 10
    (group,) = [n for n in view["nodes"] if n["type"] == "group"]
    assert group["count"] == 20
    assert any("view limited to 10 nodes: 20 more" in t for t in view["truncated"])


def test_hop_counts_search_and_refusals(client: Client, tmp_path: Path) -> None:
    root = _fan_in(client, 5)
    hops = client.hop_counts(root)
    assert hops["up"] == [4, 1, 1] and hops["up_total"] == 6 and hops["down"] == [] and hops["root"] == root
    data = tmp_path / "d.csv"
    data.write_text("x\n")
    client.record_artifact(data, kind="dataset", name="train-data")
    assert [h["ref"] for h in client.search("train")] == ["train-data"]
    assert client.search(root[7:15])[0]["ref"] == root
    assert client.search("") == []
    with pytest.raises(ValidationError):
        client.explore(root, ViewOptions(expand=("sideways:x",)))
    with pytest.raises(ValidationError):
        client.explore(root, ViewOptions(expand=tuple(f"up:{root}" for _ in range(101))))
    with pytest.raises(NotFoundError):
        client.explore(root, ViewOptions(as_of="2001-01-01"))


def test_diff_graph_marks_added_removed_and_changed(client: Client, tmp_path: Path) -> None:
    import mlineage

    def train(data: str, lr: float, extra: bool) -> str:
        path = tmp_path / f"{data}.csv"
        path.write_text(data)
        model = tmp_path / f"model-{data}.bin"
        model.write_text(f"model {data} {lr}")
        with mlineage.run("train", client=client, capture=False, params={"lr": lr}) as run:
            run.use(path, name="train-data")
            if extra:
                helper = tmp_path / "extra.csv"
                helper.write_text("extra")
                run.use(helper, name="extra-data")
            return str(run.produce(model, name="model").digest)

    a = train("one", 0.1, extra=True)
    b = train("two", 0.2, extra=False)
    view = client.diff_graph(a, b)
    status = {n["label"]: n["status"] for n in view["nodes"]}
    assert status == {"model@2": "changed", "train": "changed", "train-data@2": "changed",
                      "extra-data@1": "removed"}
    assert {d["key"] for d in view["differences"]} >= {"train.lr", "train-data", "extra-data"}
    (changed,) = [n for n in view["nodes"] if n["label"] == "train-data@2"]
    assert changed["was"].startswith("train-data@1")
    assert all(e["source"] in {n["key"] for n in view["nodes"]} for e in view["edges"])
