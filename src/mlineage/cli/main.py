"""``mlineage`` entry point: the command group and uniform error handling.

Start-up is on the path of every command, so this module imports only click; each command imports what it
needs (SQLAlchemy, Rich) inside its body.
"""

from __future__ import annotations

import os
from typing import Any

import click

from .. import __version__
from ..errors import MlineageError
from .options import GLOBAL_STORE_OPTION, GLOBAL_URI_OPTION


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MlineageError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)
        except Exception as exc:
            from ..stores.damage import damage_of, damaged_store_error

            damage = damage_of(exc)
            if damage is None:
                raise
            click.echo(f"error: {damaged_store_error(_store_name(), damage)}", err=True)
            ctx.exit(1)


def _store_name() -> str:
    """The store a command was using, for a message about it (best effort: the configuration may be
    broken)."""
    try:
        from ..config import load_settings
        from ..stores.sqlite_ledger import sqlite_path

        uri = load_settings().store_uri
        return sqlite_path(uri) or uri.split("@")[-1]
    except Exception:  # noqa: BLE001 - naming the store must not hide the error being reported
        return "database"


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlineage")
@GLOBAL_STORE_OPTION
@GLOBAL_URI_OPTION
def cli(store_uri: str | None, old_uri: str | None) -> None:
    """Record, verify and explain the lineage of machine-learning models.

    Run inside a project folder (one with .mlineage/, created by `mlineage init`). REF arguments accept a
    digest (sha256:<hex> or a unique prefix), a run id or prefix, or name@version / name (latest).
    """
    uri = store_uri or old_uri
    if uri:
        os.environ["MLINEAGE_URI"] = uri


def _register() -> None:
    from . import (
        data_commands,
        dataset_commands,
        emit_command,
        gate_commands,
        import_commands,
        ledger_commands,
        lineage_commands,
        llm_commands,
        project_commands,
        provenance_commands,
        query_commands,
        registry_commands,
        reproduce_commands,
        run_commands,
        server_commands,
        version_commands,
    )

    for module in (project_commands, query_commands, run_commands, version_commands, ledger_commands,
                   data_commands, emit_command, lineage_commands, server_commands, provenance_commands,
                   gate_commands, dataset_commands, import_commands, reproduce_commands, llm_commands,
                   registry_commands):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="mlineage")


if __name__ == "__main__":  # pragma: no cover
    main()
