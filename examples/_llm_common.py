"""Shared by the LLM lineage examples: a fresh project folder and the `mlineage` CLI run in it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path


def fresh_project(name: str) -> Path:
    """A new project folder (argv[1], or a temporary one), initialised and made the working folder."""
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix=f"{name}-"))
    root.mkdir(parents=True, exist_ok=True)
    os.chdir(root)
    cli("init", quiet=True)
    return root


def cli(*args: str, quiet: bool = False) -> None:
    """Run `mlineage ARGS` here and print what it prints (the lineage the example recorded)."""
    if not quiet:
        print(f"$ mlineage {' '.join(args)}", flush=True)
    done = subprocess.run([sys.executable, "-m", "mlineage.cli.main", *args], capture_output=True, text=True)
    if not quiet:
        print(done.stdout + done.stderr, end="", flush=True)
    if done.returncode != 0:
        raise SystemExit(f"mlineage {' '.join(args)} failed: {done.stderr}")
