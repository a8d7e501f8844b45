"""The CLI loads a command's module only when that command runs; the index it loads from must name every
command of every command module, and only those."""

from __future__ import annotations

import importlib
import pkgutil

import mlineage.cli
from mlineage.cli import main


def test_the_index_names_every_command_of_every_module() -> None:
    defined: dict[str, str] = {}
    for info in pkgutil.iter_modules(mlineage.cli.__path__):
        module = importlib.import_module(f"mlineage.cli.{info.name}")
        for command in getattr(module, "COMMANDS", ()):
            defined[command.name] = info.name
    assert defined == main._COMMAND_MODULES


def test_running_a_command_imports_only_its_module() -> None:
    import subprocess
    import sys

    code = ("import sys\nfrom mlineage.cli.main import cli\ncli.get_command(None, 'trace')\n"
            "print(sorted(m for m in sys.modules\n"
            "             if m.startswith('mlineage.cli.') and m.endswith('commands')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['mlineage.cli.query_commands']"
