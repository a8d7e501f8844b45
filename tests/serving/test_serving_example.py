"""``examples/retrieval_trace.py`` runs as a user runs it and prints an answer walked back to its sources."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_retrieval_trace_example(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLINEAGE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(EXAMPLES.parent / "src"), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "retrieval_trace.py"), str(tmp_path / "work")],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    for line in (
        "support-bot  assistant@1",
        "5 traces",
        "index kb-index@1",
        "corpus kb@1",
        "embedding model minilm@1",
        "document kb-0-03 in kb@1 shard kb-0.jsonl, licence cc-by-4.0, inclusion proven",
        "document kb-1-04 in kb@1 shard kb-1.jsonl, licence cc0-1.0",
    ):
        assert line in done.stdout, done.stdout
