"""The CLI as a user starts it: a separate process, with none of the caller's ``MLINEAGE_*`` settings (so a
test sees what a fresh shell in that folder sees)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``mlineage ARGS`` in ``cwd``; ``env`` adds variables. Never raises for the exit status (tests check
    it)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("MLINEAGE_")}
    return subprocess.run(
        [sys.executable, "-m", "mlineage.cli.main", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
