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
}


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_prints_its_lineage(script: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLINEAGE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(EXAMPLES.parent / "src"), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, str(EXAMPLES / script), str(tmp_path / "work")], env=env,
                          check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for line in EXPECTED[script]:
        assert line in done.stdout
