"""A feature module imports the catalogue or the projections package first, in a fresh interpreter: each of
the modules it may start from must import on its own (the catalogue loads the built-in features, whose
projections import the projections package back)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
FIRST_IMPORTS = ["mlineage.stores.projections", "mlineage.stores.projections.base", "mlineage.catalogue",
                 "mlineage.events", "mlineage.core_events", "mlineage.heartbeat", "mlineage.nesting",
                 "mlineage.stores.projector", "mlineage.pipeline", "mlineage.stores.projections.runs",
                 "mlineage.ledger", "mlineage.llm.corpus", "mlineage.serving.events",
                 "mlineage.registry.events"]


@pytest.mark.parametrize("module", FIRST_IMPORTS)
def test_module_imports_first(module: str) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH")) if p),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            (f"import {module}; import mlineage.stores.projections as p; assert 'runs' in p.PROJECTIONS"),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
