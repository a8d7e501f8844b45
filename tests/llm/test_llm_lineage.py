"""LLM lineage through the ledger on both backends: corpus versions with proofs and takedown look-ups, a
fine-tune → adapter → merge → quantized chain from an external base, every PEFT fixture, online checkpoints;
each projection rebuilt from the ledger row for row, each edge type in trace, JSON, DOT and Mermaid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlineage.errors import NotFoundError, ValidationError
from mlineage.formats import to_dot, to_mermaid
from mlineage.llm import OnlineRecorder
from mlineage.llm.online import packet_digest
from mlineage.llm.records import records_for
from mlineage.sdk.client import Client
from mlineage.sdk.run import run

PEFT = Path("/work/shared/fixtures/peft")
if not PEFT.is_dir():
    PEFT = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "peft"


def _corpus(root: Path, shards: int = 3, docs: int = 40, dup: bool = False) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for s in range(shards):
        with (root / f"shard-{s:02d}.jsonl").open("w") as f:
            for i in range(docs):
                doc_id = "doc-0-0" if dup and s == 1 and i == 0 else f"doc-{s}-{i}"
                f.write(json.dumps({"id": doc_id, "text": f"text {s} {i}", "source": "crawl",
                                    "url": f"https://example.org/{s}/{i}", "license": "cc-by-4.0",
                                    "created": "2026-12-01"}) + "\n")
    (root / "notes.txt").write_text("first line\n\nsecond line\n")
    return root


def _events(client: Client) -> int:
    return client.store.head()[0]


def _table(client: Client, sql: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in records_for(client.store).rows(sql, {})]


def test_corpus_version_proof_and_takedown(client: Client, tmp_path: Path) -> None:
    result = client.add_corpus(_corpus(tmp_path / "web"), name="web")
    assert (result["shards"], result["documents"], result["licences"]) == (4, 122, ["cc-by-4.0"])
    proof = client.prove_document("web@1", "doc-2-17")
    assert proof["verified"] and proof["shard"] == "shard-02.jsonl"
    assert proof["document"]["licence"] == "cc-by-4.0"
    assert client.prove_document("web@1", "notes.txt:3")["verified"]
    with pytest.raises(NotFoundError):
        client.prove_document("web@1", "doc-9-9")

    # a second version (one document changed) and a model trained on it
    (tmp_path / "web" / "shard-00.jsonl").write_text(json.dumps({"id": "doc-0-0", "text": "edited"}) + "\n")
    second = client.add_corpus(tmp_path / "web", name="web")
    assert second["version"] == 2 and second["digest"] != result["digest"]
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights")
    with run("train", client=client, capture=False) as r:
        r.use(second["digest"])
        r.produce(model, name="lm")
    found = client.find_document("doc-0-0")
    assert [(f["name"], f["version"]) for f in found] == [("web", 1), ("web", 2)]
    assert found[0]["models"] == [] and found[1]["models"] == ["lm@1"]
    assert found[0]["digest"] != found[1]["digest"]  # the edited document's content changed
    assert client.find_document("doc-never") == []
    # the corpus's licences reach the model through the gates' licence propagation
    report = client.licence_report("lm@1")
    assert {o.licence for o in report.obligations} == {"cc-by-4.0"}
    assert report.unlicensed_count == 2  # notes.txt and the edited shard carry no licence

    # the projection is a pure function of the ledger
    sql = "SELECT corpus, doc_id, shard, position, digest, licence, seq FROM corpus_documents ORDER BY 1, 2"
    before = _table(client, sql)
    client.rebuild()
    assert _table(client, sql) == before and len(before) == 122 + 83


def test_duplicate_document_ids_write_nothing(client: Client, tmp_path: Path) -> None:
    head = _events(client)
    with pytest.raises(ValidationError, match="duplicate document id 'doc-0-0'"):
        client.add_corpus(_corpus(tmp_path / "dup", dup=True), name="dup")
    assert _events(client) == head


def test_fine_tune_chain_from_an_external_base(client: Client, tmp_path: Path) -> None:
    files = {}
    for name in ("ft", "adapter", "other", "merged", "q4"):
        files[name] = tmp_path / f"{name}.bin"
        files[name].write_bytes(name.encode())
    client.link_model(str(files["ft"]), ["hf:meta-llama/Llama-3.2-3B@13afe5124825"], "finetune", name="ft")
    client.link_model(str(files["adapter"]), ["ft@1"], "adapter", name="ad")
    client.link_model(str(files["other"]), ["hf:mistralai/Mistral-7B-v0.1@main"], "finetune", name="other")
    client.link_model(str(files["merged"]), ["ad@1", "other@1"], "merge", name="merged")
    client.link_model(str(files["q4"]), ["merged@1"], "quantized", name="q4")
    with pytest.raises(ValidationError, match="at least two"):
        client.link_model(str(files["q4"]), ["merged@1"], "merge")
    with pytest.raises(ValidationError, match="base_model_relation"):
        client.link_model(str(files["q4"]), ["merged@1"], "distilled")

    result = client.trace("q4@1")
    names = {getattr(n, "name", None) for n in result.nodes.values()}
    assert {"q4", "merged", "ad", "ft", "other", "meta-llama/Llama-3.2-3B",
            "mistralai/Mistral-7B-v0.1"} <= names
    types = {e[2] for e in result.edges}
    assert types == {"QUANTIZED", "MERGE", "ADAPTER", "FINETUNE"}
    external = [n for n in result.nodes.values() if getattr(n, "name", "") == "meta-llama/Llama-3.2-3B"]
    assert external[0].metadata["external"] is True and external[0].metadata["revision"] == "13afe5124825"
    dot, mermaid = to_dot(result.nodes, result.edges, result.root), to_mermaid(result.nodes, result.edges,
                                                                               result.root)
    for edge_type in types:
        assert edge_type in dot and edge_type in mermaid
    sql = "SELECT child, parent, relation, seq FROM model_links ORDER BY 1, 2"
    before = _table(client, sql)
    edges = _table(client, "SELECT parent, child, type, role FROM edges ORDER BY 1, 2, 3")
    client.rebuild()
    assert _table(client, sql) == before and len(before) == 6
    assert _table(client, "SELECT parent, child, type, role FROM edges ORDER BY 1, 2, 3") == edges


def test_every_peft_fixture_imports(client: Client, tmp_path: Path) -> None:
    configs = sorted(PEFT.glob("*.json"))
    assert configs
    for config in configs:
        data = json.loads(config.read_text())
        base = None if data.get("base_model_name_or_path") else "hf:meta-llama/Llama-3.2-3B@main"
        out = client.import_peft(config, base=base)
        assert out["relation"] == "adapter" and out["peft_type"] == data["peft_type"]
        assert client.trace(out["child"]).count == 1
    # a folder with a config that names its base, and weights beside it
    folder = tmp_path / "my-adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps(
        {"peft_type": "LORA", "base_model_name_or_path": "Qwen/Qwen2-0.5B", "revision": "v1", "r": 8}))
    (folder / "adapter_model.safetensors").write_bytes(b"\0" * 64)
    out = client.import_peft(folder)
    base = client.artifact(out["parents"][0])
    assert base.name == "Qwen/Qwen2-0.5B"
    assert (base.metadata["revision"], base.metadata["external"]) == ("v1", True)
    assert client.artifact(out["child"]).kind.value == "adapter"


def test_adapter_config_without_a_base_writes_nothing(client: Client) -> None:
    config = next(p for p in sorted(PEFT.glob("*.json"))
                  if not json.loads(p.read_text()).get("base_model_name_or_path"))
    head = _events(client)
    with pytest.raises(ValidationError, match="names no base model"):
        client.import_peft(config)
    assert _events(client) == head


def test_online_checkpoints_batch_packets_with_proofs(client: Client) -> None:
    head = _events(client)
    packets = [f"packet {i}".encode() for i in range(2500)]
    recorder = OnlineRecorder("ctr-model", every=1000, client=client)
    written = [d for d in (recorder.update(p) for p in packets) if d]
    last = recorder.checkpoint()
    assert len(written) == 2 and last is not None
    assert _events(client) - head == 6  # two events per checkpoint, not one per packet
    proof = client.prove_packet(written[1], "sha256:" + packet_digest(packets[1500]).hex())
    assert proof["verified"] and proof["index"] == 500 and proof["size"] == 1000
    assert client.prove_packet(last, packet_digest(packets[2499]).hex())["verified"]
    with pytest.raises(NotFoundError):
        client.prove_packet(written[0], packet_digest(packets[1500]).hex())
    trace = client.trace(last)
    assert trace.count == 2 and {e[2] for e in trace.edges} == {"DERIVED_FROM"}
    # a recorder opened later continues the chain
    again = OnlineRecorder("ctr-model", every=10, client=client)
    assert again.number == 3 and again.previous == last
    sql = "SELECT digest, model, number, count, previous, seq FROM online_checkpoints ORDER BY 3"
    before = _table(client, sql)
    client.rebuild()
    assert _table(client, sql) == before and [r[3] for r in before] == [1000, 1000, 500]
