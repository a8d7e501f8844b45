"""Shared command-line options are defined once (``mlineage.cli.options``): every command that has one of
them has exactly that definition, so ``--json``, ``--as-of``, ``--depth``, ``--limit``, ``--kind``,
``--store``, ``--remote`` and ``--jobs`` mean and check the same thing everywhere."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import click

from mlineage.cli import options
from mlineage.cli.main import cli, load_all_commands

load_all_commands()


def _defined(decorator: Callable[[Any], Any]) -> click.Option:
    command = click.command()(decorator(lambda **kwargs: None))
    (param,) = command.params
    assert isinstance(param, click.Option)
    return param


def _shape(option: click.Parameter) -> tuple[Any, ...]:
    """What a user sees of an option, except its help and default (which a factory may set per command)."""
    assert isinstance(option, click.Option)
    kind = option.type
    bounds = (getattr(kind, "min", None), getattr(kind, "max", None))
    return (option.name, tuple(option.opts), tuple(option.secondary_opts), option.is_flag, option.multiple,
            kind.name, bounds, option.envvar, option.metavar)


def _commands(group: click.Group = cli, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        yield prefix + name, command
        if isinstance(command, click.Group):
            yield from _commands(command, prefix + name + " ")


SHARED = {
    "as_json": options.JSON_OPTION,
    "as_of": options.AS_OF_OPTION,
    "depth": options.DEPTH_OPTION,
    "kinds": options.KINDS_OPTION,
    "store_uri": options.STORE_OPTION,
    "remote": options.REMOTE_OPTION,
    "jobs": options.JOBS_OPTION,
}


def test_every_shared_option_has_its_one_definition() -> None:
    seen: dict[str, list[str]] = {}
    for name, command in _commands():
        for param in command.params:
            if param.name in SHARED:
                defined = _defined(SHARED[param.name])
                assert _shape(param) == _shape(defined), f"{name}: {param.opts}"
                if param.name != "as_json":  # --json alone words its help for the command (--format json)
                    assert param.help == defined.help, f"{name}: {param.opts}"  # type: ignore[attr-defined]
                seen.setdefault(param.name, []).append(name)
            elif param.name == "limit":
                assert _shape(param)[3:] == _shape(_defined(options.limit_option(1, "")))[3:], name
                assert "--limit" in param.opts, name
                seen.setdefault("limit", []).append(name)
    assert len(seen["as_json"]) >= 15 and {"trace", "impact", "path"} <= set(seen["as_of"])
    assert {"runs", "trace", "impact"} <= set(seen["limit"]) and len(seen["store_uri"]) >= 3
    assert {"push", "pull"} <= set(seen["remote"]) and {"push", "pull"} <= set(seen["jobs"])


def test_the_shared_options_keep_their_meaning() -> None:
    trace = cli.commands["trace"]
    limit = next(p for p in trace.params if p.name == "limit")
    assert limit.default == 100_000 and isinstance(limit.type, click.IntRange) and limit.type.min == 1
    runs = cli.commands["runs"]
    assert next(p for p in runs.params if p.name == "limit").opts == ["--limit", "-n"]
    store = _defined(options.STORE_OPTION)
    assert store.envvar == "MLINEAGE_SERVER_STORE"
