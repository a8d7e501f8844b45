"""A retrieval-augmented answer traced from the serving path and explained back to its sources: which model
version answered, which chunks it retrieved from which index version, the corpus and embedding model behind
that index, each source document (its inclusion in the corpus proven) and the licences on the way.

Run: python examples/retrieval_trace.py [FOLDER]
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from _llm_common import cli, fresh_project

import mlineage
from mlineage.events import NewEvent
from mlineage.serving import default_recorder

LICENCES = ["cc-by-4.0", "cc0-1.0"]


def record_index(client: mlineage.Client) -> None:
    """A corpus version, an embedding model and an embedding index built from both (what an index feature
    records for each build: an ``embedding_index`` artifact DERIVED_FROM its corpus and its model)."""
    Path("corpus").mkdir(exist_ok=True)
    for s in range(2):
        with Path(f"corpus/kb-{s}.jsonl").open("w") as f:
            f.writelines(json.dumps(
                        {
                            "id": f"kb-{s}-{i:02d}",
                            "text": f"help article {i} of part {s}",
                            "source": "helpdesk",
                            "licence": LICENCES[s],
                        }
                    )
                    + "\n" for i in range(50))
    corpus = client.add_corpus("corpus", name="kb")
    Path("minilm.bin").write_bytes(b"embedding model weights")
    embedder = client.record_artifact("minilm.bin", kind="model", name="minilm")
    client.record_licence(str(embedder.digest), "apache-2.0")
    index = "sha256:" + hashlib.sha256(b"kb-index built from kb@1 with minilm@1, chunks of 512").hexdigest()
    client.append(
        [
            NewEvent(
                "ArtifactRecorded",
                {
                    "digest": index,
                    "kind": "embedding_index",
                    "name": "kb-index",
                    "metadata": {"chunk_size": 512, "overlap": 64},
                },
            ),
            NewEvent("ArtifactDerived", {"parent": corpus["digest"], "child": index, "role": "corpus"}),
            NewEvent(
                "ArtifactDerived", {"parent": str(embedder.digest), "child": index, "role": "embedding_model"}
            ),
        ]
    )


def main() -> None:
    fresh_project("retrieval-trace")
    client = mlineage.default_client()
    record_index(client)
    Path("assistant.bin").write_bytes(b"assistant weights")
    cli("register", "assistant.bin", "--name", "assistant")
    cli("alias", "set", "assistant", "production", "@1")
    cli("deploy", "assistant@production", "--endpoint", "support-bot", "--env", "prod")
    # the serving path: one call per request, queued and written in the background
    for i in range(5):
        attributes = {
            f"retrieval.documents.{k}.document.id": f"kb-{k % 2}-{(i + k) % 50:02d}" for k in range(2)
        }
        attributes.update({"gen_ai.usage.input_tokens": 600 + i, "gen_ai.usage.output_tokens": 80})
        mlineage.trace_request(
            endpoint="support-bot",
            model="assistant@production",
            index="kb-index@1",
            trace_id=f"ans-{i}",
            latency_ms=400.0 + i,
            guardrail="pass",
            cost=0.0012,
            attributes=attributes,
        )
    default_recorder().flush()
    cli("traces", "--summary")
    cli("explain-answer", "ans-3")


if __name__ == "__main__":
    main()
