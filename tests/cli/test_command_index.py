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


def test_each_summary_is_the_first_paragraph_of_its_commands_help() -> None:
    import click

    from mlineage.cli.command_summaries import SUMMARIES

    commands = main.load_all_commands()
    assert sorted(SUMMARIES) == sorted(name for name, c in commands.items() if not c.hidden)
    for name, summary in SUMMARIES.items():
        stand_in = click.Command(name, help=summary)
        for limit in (20, 45, 60, 78, 200):  # click shortens both alike, whatever the terminal's width
            assert stand_in.get_short_help_str(limit) == commands[name].get_short_help_str(limit), name


def test_help_lists_every_command_without_importing_command_modules() -> None:
    import os
    import subprocess
    import sys

    code = ("import sys\n"
            "from click.testing import CliRunner\n"
            "from mlineage.cli.main import cli, load_all_commands\n"
            "lazy = CliRunner().invoke(cli, ['--help']).output\n"
            "loaded = sorted(m for m in sys.modules\n"
            "                if m.startswith('mlineage.cli.') and m.endswith('commands'))\n"
            "load_all_commands()\n"
            "full = CliRunner().invoke(cli, ['--help']).output\n"
            "print(loaded, lazy == full, 'Commands:' in full)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "COLUMNS": "80"})
    assert out.stdout.strip() == "[] True True"  # the same text as from the commands themselves
