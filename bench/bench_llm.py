"""LLM lineage: online-learning packets as Merkle checkpoints vs one run per update; corpus digests.

* Ledger size: N packet updates (100,000; quick: 10,000) of one model, recorded by ``OnlineRecorder`` with a
  checkpoint every 1,000 packets, against the same updates recorded the way a tracker without batching
  would: one run per update (RunStarted, the packet recorded and USED, RunEnded), each update appended as
  its own batch. Ledger rows (events) and ledger bytes (the events' payload and envelope columns), each a
  fresh SQLite store. Goal: >= 100x fewer rows.
* Inclusion proof: making and checking the proof of one packet in a 1,000-packet checkpoint from its packed
  leaves and tree (what ``online prove`` does after its one read), median over 200 packets; and
  ``Client.prove_packet`` end to end (resolve the checkpoint, read its row, prove, verify). Goal: < 1 ms
  for the proof.
* Corpus digest: a corpus of 1,000,000 documents (quick: 100,000) in 100 JSONL shards (quick: 10),
  Dolma-shaped records. Ours: what ``corpus add`` computes before writing (every shard read, each document's
  canonical-JSON digest, each shard's Merkle root over its documents, the corpus root over the shards); peer:
  hashing the shard files alone (SHA-256 of each file, streamed, as ``mlineage add`` or DVC would). Goal:
  <= 1.3x. Also shown: a shard-level manifest (each file's digest) and a Merkle root over it, which proves
  shards but not documents.
"""

from __future__ import annotations

import hashlib
import shutil
import statistics
import time
from typing import Any

from bench.harness import Result, median_of, workdir


def _store(name: str) -> Any:
    from mlineage.sdk.client import Client

    root = workdir("llm") / name
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    return Client.for_uri(f"sqlite:///{root / 'store.db'}", root / "objects")


def _ledger(client: Any) -> tuple[int, int]:
    from sqlalchemy import text

    with client.store.engine.connect() as conn:
        rows, size = conn.execute(text(
            "SELECT COUNT(*), SUM(LENGTH(payload) + LENGTH(id) + LENGTH(type) + LENGTH(ts) + LENGTH(hash) "
            "+ LENGTH(prev_hash) + LENGTH(payload_sha256) + COALESCE(LENGTH(actor), 0)) FROM events")).one()
    return int(rows), int(size)


def _packets(n: int) -> list[bytes]:
    return [f'{{"packet": {i}, "user": {i % 977}, "clicked": {i % 2}}}'.encode() for i in range(n)]


def _checkpoints(packets: list[bytes]) -> tuple[tuple[int, int], float, Any]:
    from mlineage.llm import OnlineRecorder

    client = _store("checkpoints")
    started = time.perf_counter()
    with OnlineRecorder("ctr-model", every=1000, client=client) as recorder:
        for packet in packets:
            recorder.update(packet)
    return _ledger(client), time.perf_counter() - started, client


def _run_per_update(packets: list[bytes]) -> tuple[tuple[int, int], float]:
    from mlineage import events as ev
    from mlineage.events import NewEvent

    client = _store("runs")
    started = time.perf_counter()
    for i, packet in enumerate(packets):
        run_id, digest = f"update-{i}", "sha256:" + hashlib.sha256(packet).hexdigest()
        client.append([
            NewEvent(ev.RUN_STARTED, {"run_id": run_id, "job": "ctr-model update", "kind": "train"}),
            NewEvent(ev.ARTIFACT_RECORDED, {"digest": digest, "kind": "dataset", "size": len(packet)}),
            NewEvent(ev.ARTIFACT_USED, {"run_id": run_id, "digest": digest, "role": "packet"}),
            NewEvent(ev.RUN_ENDED, {"run_id": run_id, "status": "completed"}),
        ])
    ledger = _ledger(client)
    client.close()
    return ledger, time.perf_counter() - started


def _proof_ms(client: Any, packets: list[bytes]) -> tuple[float, float]:
    from mlineage.llm import merkle, online
    from mlineage.llm.records import records_for

    digest, leaves, tree = records_for(client.store).rows(
        "SELECT digest, leaves, tree FROM online_checkpoints WHERE number = 2", {})[0]
    expected = bytes.fromhex(digest.removeprefix("sha256:"))
    pure, end_to_end = [], []
    for i in range(1000, 2000, 5):
        packet = hashlib.sha256(packets[i]).digest()
        started = time.perf_counter()
        proof = online.prove_from_tree(leaves, tree, packet)
        assert proof.verify() and proof.root == expected and proof.leaf == merkle.leaf_hash(packet)
        pure.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert client.prove_packet(digest, packet.hex())["verified"]
        end_to_end.append(time.perf_counter() - started)
    return statistics.median(pure) * 1000, statistics.median(end_to_end) * 1000


def _write_corpus(documents: int, shards: int) -> list[Any]:
    import json

    root = workdir("llm") / f"corpus-{documents}-{shards}"
    files = sorted(root.glob("*.jsonl"))
    if len(files) == shards:
        return files
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    per = documents // shards
    for s in range(shards):
        with (root / f"part-{s:05d}.jsonl").open("w") as f:
            f.writelines(json.dumps({"id": f"web-{s:05d}-{i:06d}",
                                     "text": f"document {i} of shard {s}: " + "lorem " * (10 + i % 40),
                                     "source": "common-crawl", "url": f"https://example.org/{s}/{i}",
                                     "licence": "cc-by-4.0", "added": "2026-12-01"}) + "\n"
                         for i in range(per))
    return sorted(root.glob("*.jsonl"))


def _corpus(quick: bool) -> list[Result]:
    from mlineage.hashing import hash_file
    from mlineage.llm import corpus, merkle
    from mlineage.llm.corpus_source import read_shard

    documents, shards = (100_000, 10) if quick else (1_000_000, 100)
    files = _write_corpus(documents, shards)
    size = sum(p.stat().st_size for p in files)

    def hash_alone() -> None:
        for p in files:
            hash_file(p)

    def shard_manifest() -> None:
        merkle.root_of_hashes([merkle.leaf_hash(p.name.encode() + b"\0" + bytes.fromhex(
            str(hash_file(p)[0]).removeprefix("sha256:"))) for p in files])

    def document_tree() -> None:
        built = corpus.build([(p.name, read_shard(p, p.name)) for p in files])
        assert built.documents == documents and built.digest

    hash_alone()  # a warm page cache for every measurement
    peer_s = median_of(hash_alone, 3)
    manifest_s = median_of(shard_manifest, 3)
    ours_s = median_of(document_tree, 1 if not quick else 2)
    label = f"corpus of {documents:,} documents in {shards} shards ({size / 1e6:.0f} MB)"
    return [
        Result(f"{label}: document Merkle tree (corpus add)", ours_s, "hashing the shards alone", peer_s, "s",
               False, "<= 1.3x", ours_s <= 1.3 * peer_s),
        Result(f"{label}: shard manifest + Merkle root", manifest_s, "hashing the shards alone", peer_s, "s",
               False, "-", None),
    ]


def run(quick: bool) -> list[Result]:
    results = _corpus(quick)
    n = 10_000 if quick else 100_000
    packets = _packets(n)
    (rows, size), ours_s, client = _checkpoints(packets)
    (peer_rows, peer_size), peer_s = _run_per_update(packets)
    proof_ms, e2e_ms = _proof_ms(client, packets)
    client.close()
    label = f"{n:,} online packet updates"
    peer = "one run per update"
    return results + [
        Result(f"{label}: ledger rows", rows, peer, peer_rows, "rows", False, ">= 100x fewer rows",
               peer_rows >= 100 * rows),
        Result(f"{label}: ledger bytes", size / 1e6, peer, peer_size / 1e6, "MB", False, "-", None),
        Result(f"{label}: recording time", ours_s, peer, peer_s, "s", False, "-", None),
        Result("inclusion proof, 1,000-packet checkpoint (make + verify)", proof_ms, "-", None, "ms", False,
               "< 1 ms", proof_ms < 1.0),
        Result("online prove end to end (Client.prove_packet)", e2e_ms, "-", None, "ms", False, "-", None),
    ]
