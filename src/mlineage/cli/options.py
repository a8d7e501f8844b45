"""The command-line options several commands share, each defined once (click decorators, reusable).

Only click is imported: the data commands' start-up depends on it staying that way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

JSON_HELP = "Print machine-readable JSON."


def json_option(help: str = JSON_HELP) -> Callable[[F], F]:
    """``--json`` (``as_json``): a command's output as JSON instead of text."""
    return click.option("--json", "as_json", is_flag=True, help=help)


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


STORE_OPTION = click.option("--store", "store_uri", envvar="MLINEAGE_SERVER_STORE", metavar="URI",
                            help="The server's metadata store (postgresql://... or sqlite:///...). "
                                 "Default: the project's store.")
REMOTE_OPTION = click.option("-r", "--remote", metavar="URI",
                             help="Remote to use (a folder, s3://bucket/prefix or a team server). "
                                  "Default: [remote] uri, else the team server MLINEAGE_URI names.")
JOBS_OPTION = click.option("-j", "--jobs", type=click.IntRange(min=1), help="Parallel transfers.")
