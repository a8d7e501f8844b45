"""A command whose optional package is not installed says which extra brings it, in one line, and exits 1
(a wheel installed without ``[server]`` printed a ``ModuleNotFoundError`` traceback for ``server`` and
``ui``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

RUN_WITHOUT = (
    "import sys\n"
    "for name in sys.argv[1].split(','):\n"
    "    sys.modules[name] = None  # importing it now raises ImportError, as when it is not installed\n"
    "from mlineage.cli.entry import main\n"
    "sys.argv = ['mlineage', *sys.argv[2:]]\n"
    "main()\n"
)


@pytest.mark.parametrize(("missing", "command"), [
    ("uvicorn", ["server", "--port", "0"]),
    ("fastapi", ["server", "--port", "0"]),
    ("uvicorn", ["ui", "--no-open", "--port", "0"]),
    ("fastapi", ["ui", "--no-open", "--port", "0"]),
])
def test_server_and_ui_name_the_server_extra(project: Path, missing: str, command: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLINEAGE_")}
    done = subprocess.run([sys.executable, "-c", RUN_WITHOUT, missing, *command], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert f"mlineage {command[0]} needs {missing}: pip install 'mlineage[server]'" in done.stderr
    assert "Traceback" not in done.stderr
