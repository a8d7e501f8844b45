"""Every server command and option has help text and appears in docs/server.md."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from mlineage.cli.main import cli, load_all_commands

load_all_commands()

DOC = Path(__file__).resolve().parents[2] / "docs" / "server.md"
COMMANDS = [("server",), ("sync",), ("token", "create"), ("token", "list"), ("token", "revoke")]


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_server_commands_are_documented(path: tuple[str, ...]) -> None:
    text = DOC.read_text()
    command: click.Command = cli
    for part in path:
        command = command.commands[part]  # type: ignore[attr-defined]
    assert f"mlineage {' '.join(path)}" in text
    assert command.help
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, (path, param.name)
            assert any(opt in text for opt in param.opts), (path, param.opts)


def test_token_commands_against_a_store(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 's.db'}"
    runner = CliRunner()
    made = runner.invoke(
        cli,
        ["token", "create", "ci", "--scopes", "read", "--namespace", "team-a", "--store", store, "--json"],
    )
    assert made.exit_code == 0, made.output
    import json

    record = json.loads(made.output)
    assert record["token"].startswith("mlt_") and record["scopes"] == ["read"]
    listed = runner.invoke(cli, ["token", "list", "--store", store, "--json"])
    assert "mlt_" not in listed.output and record["id"] in listed.output
    revoked = runner.invoke(cli, ["token", "revoke", record["id"], "--store", store])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    bad = runner.invoke(cli, ["token", "create", "x", "--scopes", "root", "--store", store])
    assert bad.exit_code == 1 and "not a scope" in bad.output
