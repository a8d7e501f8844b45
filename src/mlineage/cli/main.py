"""``mlineage`` entry point: the command group and uniform error handling.

Start-up is on the path of every command, so this module imports only click; each command imports what it
needs (SQLAlchemy, Rich) inside its body.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from typing import Any

import click

from .. import __version__
from ..errors import MlineageError
from .options import GLOBAL_STORE_OPTION, GLOBAL_URI_OPTION, JSON_REQUESTED


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MlineageError as exc:
            _fail(ctx, type(exc).__name__, str(exc))
        except Exception as exc:
            from ..stores.damage import damage_of, damaged_store_error

            damage = damage_of(exc)
            if damage is None:
                raise
            _fail(ctx, "DamagedStoreError", str(damaged_store_error(_store_name(), damage)))

    _describing = False  # while listing commands for --help: a summary stands in for an unloaded command

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(_COMMAND_MODULES))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _COMMAND_MODULES:
            if self._describing:
                from .command_summaries import SUMMARIES

                if cmd_name in SUMMARIES:
                    return click.Command(cmd_name, help=SUMMARIES[cmd_name])
            _load(_COMMAND_MODULES[cmd_name])
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's list of commands, each described by the first paragraph of its help from
        ``command_summaries`` rather than by importing every command module (`mlineage --help` would
        otherwise load them all)."""
        self._describing = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._describing = False


def _store_name() -> str:
    """The store a command was using, for a message about it (best effort: the configuration may be
    broken)."""
    try:
        from ..config import load_settings, sqlite_path

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


# Which module defines each top-level command. Commands load on first use, so `mlineage trace` imports the
# lineage query commands and nothing else; tests/cli/test_command_index.py checks this table against the
# modules' COMMANDS lists.
_COMMAND_MODULES: dict[str, str] = {
    "add": "data_commands", "status": "data_commands", "checkout": "data_commands", "push": "data_commands",
    "pull": "data_commands", "get": "data_commands", "gc": "data_commands", "fsck": "data_commands",
    "diff": "dataset_commands", "profile": "dataset_commands", "drift": "dataset_commands",
    "rollback": "dataset_commands",
    "emit": "emit_command",
    "erase": "erasure_commands", "erasure": "erasure_commands",
    "check": "gate_commands", "licence": "gate_commands", "owner": "gate_commands", "source": "gate_commands",
    "import": "import_commands", "scan": "import_commands",
    "verify": "ledger_commands", "rebuild": "ledger_commands", "export": "ledger_commands",
    "path": "lineage_commands", "closure": "lineage_commands", "lineage-diff": "lineage_commands",
    "corpus": "llm_commands", "model": "llm_commands", "online": "llm_commands",
    "index": "special_commands", "edit": "special_commands", "federated": "special_commands",
    "init": "project_commands",
    "keys": "provenance_commands", "attest": "provenance_commands",
    "verify-attestation": "provenance_commands",
    "sign-model": "provenance_commands", "verify-model": "provenance_commands",
    "runs": "query_commands", "show": "query_commands", "trace": "query_commands", "impact": "query_commands",
    "register": "registry_commands", "models": "registry_commands", "alias": "registry_commands",
    "promote": "registry_commands", "deploy": "registry_commands", "endpoint": "registry_commands",
    "incident": "registry_commands", "approval": "registry_commands",
    "reproducible": "reproduce_commands", "reproduce": "reproduce_commands",
    "metrics": "run_commands", "compare": "run_commands", "run": "run_commands",
    "server": "server_commands", "sync": "server_commands", "token": "server_commands",
    "ui": "ui_commands",
    "traces": "serving_commands", "explain-answer": "serving_commands",
    "versions": "version_commands",
    "webhooks": "webhook_commands",
}


def _fail(ctx: click.Context, kind: str, message: str) -> None:
    """One ``error:`` line on stderr and exit 1; a command asked for JSON also prints the error as a JSON
    object on stdout (``{"error": {"type", "message"}}``), so a script parsing its output gets JSON either
    way."""
    click.echo(f"error: {message}", err=True)
    if ctx.meta.get(JSON_REQUESTED):
        import json

        click.echo(json.dumps({"error": {"type": kind, "message": message}}))
    ctx.exit(1)


def _load(module_name: str) -> None:
    import importlib

    module = importlib.import_module(f"{__package__}.{module_name}")
    for command in module.COMMANDS:
        cli.add_command(command)


def load_all_commands() -> MutableMapping[str, click.Command]:
    """Every top-level command, loaded (for `--help`, documentation checks and tests)."""
    for module_name in sorted(set(_COMMAND_MODULES.values())):
        _load(module_name)
    return cli.commands


def main() -> None:
    cli(prog_name="mlineage")


if __name__ == "__main__":  # pragma: no cover
    main()
