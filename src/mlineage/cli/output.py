"""Output helpers shared by every command: JSON for scripts, Rich for people, progress only on a terminal.

Rich is imported inside the functions that draw, so ``mlineage --help`` and ``--json`` paths stay cheap.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import click

T = TypeVar("T")


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str))


def console() -> Any:
    from rich.console import Console

    # Piped output is read by people in logs and CI too: do not squeeze it into 80 columns.
    return Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 160)


def error_console() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def progress(items: Iterable[T], total: int | None, description: str) -> Iterator[T]:
    """A progress bar on an interactive stderr; a plain pass-through when piped or in CI."""
    if not sys.stderr.isatty() or (total is not None and total < 2000):
        yield from items
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=error_console(), transient=True) as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)
