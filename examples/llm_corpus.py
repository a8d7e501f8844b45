"""A training corpus recorded as a Merkle tree, a model trained on it, one document's inclusion proven and a
takedown request answered ("which corpus versions and models include document X?").

Run: python examples/llm_corpus.py [FOLDER]
"""

from __future__ import annotations

import json
from pathlib import Path

from _llm_common import cli, fresh_project

import mlineage

LICENCES = ["cc-by-4.0", "odc-by", "cc0-1.0"]


def write_shards(folder: Path, shards: int = 4, docs: int = 75) -> None:
    folder.mkdir(exist_ok=True)
    for s in range(shards):
        with (folder / f"part-{s:03d}.jsonl").open("w") as f:
            for i in range(docs):
                f.write(json.dumps({"id": f"web-{s:03d}-{i:04d}", "text": f"document {i} of shard {s}",
                                    "source": "common-crawl", "url": f"https://example.org/{s}/{i}",
                                    "licence": LICENCES[i % 3], "added": "2026-12-01"}) + "\n")


def main() -> None:
    fresh_project("llm-corpus")
    write_shards(Path("corpus"))
    cli("corpus", "add", "corpus", "--name", "web")
    Path("lm.bin").write_bytes(b"weights trained on web@1")
    with mlineage.run("pretrain", kind="train", capture=False) as run:
        run.use("web@1", role="corpus")
        run.produce("lm.bin", name="lm")
    cli("corpus", "prove", "web@1", "web-002-0042")
    cli("corpus", "find", "web-002-0042")
    cli("trace", "lm@1")


if __name__ == "__main__":
    main()
