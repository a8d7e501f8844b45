"""Every lineage command and each of its options is documented in docs/lineage-queries.md, with help text."""

from __future__ import annotations

from pathlib import Path

import click

from mlineage.cli.main import cli, load_all_commands

load_all_commands()

DOC = Path(__file__).resolve().parents[2] / "docs" / "lineage-queries.md"
COMMANDS = ["trace", "impact", "path", "closure", "lineage-diff"]


def test_lineage_commands_and_options_are_documented() -> None:
    text = DOC.read_text()
    for name in COMMANDS:
        command = cli.commands[name]
        assert f"mlineage {name}" in text, name
        assert command.help, name
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, (name, param.name)
                assert any(opt in text for opt in param.opts), (name, param.opts)
