"""Project set-up commands."""

from __future__ import annotations

from pathlib import Path

import click

from .options import json_option
from .output import emit_json


@click.command("init")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option(
    "--nested",
    is_flag=True,
    help="Create the project even inside another project's folder (it then hides the outer one here).",
)
@json_option("Print the result as JSON.")
def init_command(path: Path, nested: bool, as_json: bool) -> None:
    """Create a .mlineage/ project in PATH (default: here) and its metadata store.

    Safe to run twice. Commit .mlineage/config.toml; the database and objects are git-ignored. Inside a
    folder of another project it refuses unless --nested is given.
    """
    from ..config import PROJECT_DIR, find_project, init_project, load_settings
    from ..errors import ValidationError
    from ..sdk.client import Client

    if (
        not (path / PROJECT_DIR).is_dir()
        and (outer := find_project(path.resolve())) is not None
        and not nested
    ):
        raise ValidationError("init", f"{path.resolve()} is inside the project {outer}; commands there use "
                              "that project", "run commands from there, or pass --nested to create a project "
                              "that hides it in this folder")
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
