"""The command-line options several commands share, each defined once (click decorators, reusable).

Only click is imported: the data commands' start-up depends on it staying that way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

JSON_HELP = "Print machine-readable JSON."


JSON_REQUESTED = "mlineage.json"  # set in the context's meta (shared by every nested context) by --json


def _remember_json(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Note that the command was asked for JSON, so that an error is JSON too (``main._Group``)."""
    if value:
        ctx.meta[JSON_REQUESTED] = True
    return value


def json_option(help: str = JSON_HELP) -> Callable[[F], F]:
    """``--json`` (``as_json``): a command's output as JSON instead of text, its errors included."""
    return click.option("--json", "as_json", is_flag=True, help=help, callback=_remember_json)


JSON_OPTION = json_option()

AS_OF_OPTION = click.option("--as-of", "as_of", metavar="TIMESTAMP",
                            help="The graph as it stood then: an ISO time (2026-05-01T12:00:00Z) or seq:N.")
DEPTH_OPTION = click.option("--depth", type=click.IntRange(min=0),
                            help="Stop after this many hops (reported if it cuts).")
KINDS_OPTION = click.option("--kind", "kinds", multiple=True, metavar="KIND",
                            help="Only show nodes of this kind (dataset, model, code, ..., run); repeatable. "
                                 "The walk still passes through other nodes.")


def limit_option(default: int, help: str, *, short: bool = False) -> Callable[[F], F]:
    """``--limit`` (``-n`` too with ``short``): at most this many results, a positive integer."""
    names = ("--limit", "-n") if short else ("--limit",)
    return click.option(*names, type=click.IntRange(min=1), default=default, show_default=True, help=help)


def note_deprecated(old: str, new: str) -> None:
    """One line on stderr for an old spelling that still works (it goes after one release)."""
    click.echo(f"note: {old} is deprecated and will be removed in the next release; use {new}", err=True)


def deprecated_alias(old: str, new: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A callback for a hidden option kept under its old name: notes the new one, passes the value on."""
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if (
            value is not None
            and ctx.get_parameter_source(param.name or "") is click.core.ParameterSource.COMMANDLINE
        ):
            note_deprecated(old, new)
        return value

    return callback


# The human-readable view is "text" on every command; "tree" is the old name on trace/impact.
FORMAT_ALIASES = {"tree": "text"}


def format_option(formats: tuple[str, ...], help: str) -> Callable[[F], F]:
    """``--format`` (``fmt``): text (the default), json, and the command's diagram formats."""
    def callback(ctx: click.Context, param: click.Parameter, value: str) -> str:
        if value in FORMAT_ALIASES:
            note_deprecated(f"--format {value}", f"--format {FORMAT_ALIASES[value]}")
            return FORMAT_ALIASES[value]
        _remember_json(ctx, param, value == "json")
        return value

    return click.option("--format", "fmt", type=click.Choice(formats + tuple(FORMAT_ALIASES)), default="text",
                        metavar=f"[{'|'.join(formats)}]", show_default=True, callback=callback, help=help)


GLOBAL_STORE_OPTION = click.option(
    "--store",
    "store_uri",
    envvar="MLINEAGE_URI",
    metavar="URI",
    help="Metadata store (sqlite:///..., postgresql://... or http(s)://server). "
    "Default: the project's .mlineage/.",
)
GLOBAL_URI_OPTION = click.option("--uri", "old_uri", metavar="URI", hidden=True,
                                 callback=deprecated_alias("--uri", "--store"), expose_value=True)

STORE_OPTION = click.option("--store", "store_uri", envvar="MLINEAGE_SERVER_STORE", metavar="URI",
                            help="The server's metadata store (postgresql://... or sqlite:///...). "
                                 "Default: the project's store.")
REMOTE_OPTION = click.option("-r", "--remote", metavar="URI",
                             help="Remote to use (a folder, s3://bucket/prefix or a team server). "
                                  "Default: [remote] uri, else the team server MLINEAGE_URI names.")
JOBS_OPTION = click.option("-j", "--jobs", type=click.IntRange(min=1), help="Parallel transfers.")
