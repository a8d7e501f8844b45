"""Shared by the LLM lineage examples: a fresh project folder and the `mlineage` CLI run in it."""

from __future__ import annotations

import os
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
    """Run `mlineage ARGS` here, in this process, and print what it prints (the lineage the example
    recorded)."""
    import contextlib
    import io

    from mlineage.cli.main import cli as mlineage_cli

    if not quiet:
        print(f"$ mlineage {' '.join(args)}", flush=True)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            mlineage_cli.main(list(args), prog_name="mlineage", standalone_mode=False)
        except SystemExit as stop:
            if stop.code:
                raise SystemExit(f"mlineage {' '.join(args)} failed: {out.getvalue()}") from None
    if not quiet:
        print(out.getvalue(), end="", flush=True)
