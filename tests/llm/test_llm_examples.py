"""The LLM lineage examples run as a user runs them and print the lineage they recorded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXPECTED = {
    "llm_corpus.py": ["verified: yes", "models: lm@1", "USED:corpus corpus web@1"],
    "finetune_chain.py": ["QUANTIZED model merged@1", "MERGE adapter chat-lora@1", "ADAPTER model chat-ft@1",
                          "FINETUNE model meta-llama/Llama-3.2-3B@1"],
    "online_learning.py": ["5000 packets, 5 checkpoints", "verified: yes", "online_checkpoint ctr-model@1"],
    "embedding_index.py": ["120 chunks of 40 documents", "DERIVED_FROM:embedding_model model",
                           "PRODUCED:index run index kb-index", "embedding_index: kb-index@1",
                           "endpoint support-chat [prod]: assistant@1 serving now"],
    "federated.py": ["round 4 refused: updates: client-", "round 3: global",
                     "DERIVED_FROM:previous_global model hospitals-global@1",
                     "PRODUCED:global run hospitals round 1"],
    "hitl_edits.py": ["3 label changes from labels-round-1.csv already recorded",
                      "PRODUCED:after run weight edit by alice@example.org",
                      "USED:approved run approval by carol@example.org"],
}
SLOW = {"embedding_index.py"}  # loads all-MiniLM-L6-v2 when the embeddings extra is installed


@pytest.mark.parametrize("script", [pytest.param(s, marks=pytest.mark.slow) if s in SLOW else s
                                    for s in sorted(EXPECTED)])
def test_example_prints_its_lineage(script: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLINEAGE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(EXAMPLES.parent / "src"), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, str(EXAMPLES / script), str(tmp_path / "work")], env=env,
                          check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for line in EXPECTED[script]:
        assert line in done.stdout
