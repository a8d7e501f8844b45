"""Project set-up commands."""

from __future__ import annotations

from pathlib import Path

import click

from .options import json_option
from .output import emit_json


@click.command("init")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path), default=".")
@json_option("Print the result as JSON.")
def init_command(path: Path, as_json: bool) -> None:
    """Create a .mlineage/ project in PATH (default: here) and its metadata store.

    Safe to run twice. Commit .mlineage/config.toml; the database and objects are git-ignored.
    """
    from ..config import init_project, load_settings
    from ..sdk.client import Client

    path.mkdir(parents=True, exist_ok=True)
    project = init_project(path)
    settings = load_settings(path)
    client = Client(settings)
    seq, _head = client.store.head()
    client.close()
    if as_json:
        emit_json({"project": str(project), "store": settings.store_uri, "artifacts": settings.artifacts_uri,
                   "events": seq})
    else:
        click.echo(f"Initialised mlineage project in {project}")
        click.echo(f"  store:     {settings.store_uri}")
        click.echo(f"  artifacts: {settings.artifacts_uri}")


COMMANDS = [init_command]
