"""The README's five-minute tour runs as written (in a temporary folder instead of /tmp/tour)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_tour_runs_as_written(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    tour = readme.split("## A five-minute tour", 1)[1]
    script = re.search(r"```bash\n(.*?)```", tour, re.DOTALL)
    assert script is not None, "the tour's bash block is missing"
    text = script.group(1)
    assert "source .venv/bin/activate" in text
    # The test's interpreter stands in for the activated venv, and a temporary folder for /tmp/tour.
    text = text.replace("source .venv/bin/activate", "").replace("/tmp/tour", str(tmp_path / "tour"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLINEAGE_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(["bash", "-eu", "-c", text], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "OK: " in result.stdout and "chain intact" in result.stdout
    assert "classifier@1" in result.stdout and "run clean" in result.stdout
