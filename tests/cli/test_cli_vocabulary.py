"""One name per idea: `--store` (the global `--uri` is its old name), `--format text` (`tree` is its old
name), and every option of every command mentioned in docs/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner

from mlineage.cli.main import cli, load_all_commands

load_all_commands()

ROOT = Path(__file__).resolve().parents[2]


def _commands(group: click.Group = cli, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        yield prefix + name, command
        if isinstance(command, click.Group):
            yield from _commands(command, prefix + name + " ")


def test_old_spellings_work_with_a_deprecation_note(env: dict[str, str]) -> None:
    uri = env["MLINEAGE_URI"]
    others = {k: v for k, v in env.items() if k != "MLINEAGE_URI"}
    for flag in ("--store", "--uri"):
        result = CliRunner().invoke(cli, [flag, uri, "runs", "--json"], env=dict(others, MLINEAGE_URI=""))
        assert result.exit_code == 0 and '"prep0001"' in result.stdout, result.output
        assert ("--uri is deprecated" in result.stderr) == (flag == "--uri")
        assert "use --store" in result.stderr or flag == "--store"
    new = CliRunner().invoke(cli, ["trace", "clf", "--format", "text"], env=env)
    old = CliRunner().invoke(cli, ["trace", "clf", "--format", "tree"], env=env)
    assert old.exit_code == new.exit_code == 0 and old.stdout == new.stdout and "└── PRODUCED" in new.stdout
    assert (
        "--format tree is deprecated" in old.stderr and "use --format text" in old.stderr and not new.stderr
    )
    assert (
        "--format tree is deprecated"
        in CliRunner().invoke(cli, ["path", "clf", "run:prep0001", "--format", "tree"], env=env).stderr
    )


def test_every_format_option_speaks_the_same_words() -> None:
    formats = [(name, p) for name, c in _commands() for p in c.params if p.name == "fmt"]
    # export's --format picks a standard document (ledger, PROV, CycloneDX, ...), not a view of a result
    documents = [p for name, p in formats if name == "export"]
    assert len(documents) == 1 and documents[0].default == "ledger"
    # check's --format picks a CI report (text, json, junit, sarif), also not a view of a lineage result
    reports = [p for name, p in formats if name == "check"]
    assert len(reports) == 1 and reports[0].default == "text"
    formats = [(name, p) for name, p in formats if name not in ("export", "check")]
    assert {name for name, _ in formats} == {"trace", "impact", "path"}
    for name, param in formats:
        assert isinstance(param, click.Option) and param.default == "text", name
        assert param.metavar == "[text|json|dot|mermaid]", name
    top = {p.name: p for p in cli.params}
    assert top["store_uri"].opts == ["--store"] and top["store_uri"].envvar == "MLINEAGE_URI"
    assert top["old_uri"].hidden


def _docs() -> str:
    return (
        "\n".join(p.read_text() for p in sorted((ROOT / "docs").glob("*.md")))
        + (ROOT / "README.md").read_text()
    )


def test_every_cli_option_is_mentioned_in_the_docs() -> None:
    docs = _docs()
    missing = []
    for name, command in _commands():
        if not isinstance(command, click.Group):
            assert re.search(rf"mlineage {re.escape(name)}\b", docs), f"`mlineage {name}` is not in docs/"
        for param in command.params:
            if not isinstance(param, click.Option) or param.hidden or param.name == "help":
                continue
            for opt in param.opts + param.secondary_opts:
                if not re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", docs):
                    missing.append(f"mlineage {name} {opt}")
    for param in cli.params:
        if isinstance(param, click.Option) and not param.hidden and param.name != "version":
            missing += [f"mlineage {opt}" for opt in param.opts if opt not in docs]
    assert not missing, f"options with no mention in docs/ or README.md: {', '.join(missing)}"


def test_the_check_can_fail(monkeypatch: Any) -> None:
    command = cli.commands["runs"]
    monkeypatch.setattr(
        command, "params", [*command.params, click.Option(["--never-documented"], is_flag=True)]
    )
    try:
        test_every_cli_option_is_mentioned_in_the_docs()
    except AssertionError as exc:
        assert "mlineage runs --never-documented" in str(exc)
    else:
        raise AssertionError("an undocumented option passed the check")
