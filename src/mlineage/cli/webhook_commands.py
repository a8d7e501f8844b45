"""``mlineage webhooks log``: the delivery log of the project's webhooks (docs/registry.md)."""

from __future__ import annotations

import click

from .options import JSON_OPTION
from .output import emit_json


@click.group("webhooks")
def webhooks_group() -> None:
    """Webhooks: alias moves, approval changes, incidents and erasures POSTed to configured URLs."""


@webhooks_group.command("log")
@click.option("--last", type=int, default=50, show_default=True, help="Show the newest N attempts.")
@JSON_OPTION
def webhooks_log(last: int, as_json: bool) -> None:
    """Every delivery attempt: when, which event, to which URL, the HTTP status or error, delivered or not."""
    from ..config import PROJECT_DIR, find_project
    from ..errors import ConfigError
    from ..webhooks import LOG_FILE, read_log

    root = find_project()
    if root is None:
        raise ConfigError("not in a project (no .mlineage/ here or above): the delivery log lives there")
    rows = read_log(root / PROJECT_DIR / LOG_FILE)[-last:] if last > 0 else []
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        outcome = "delivered" if r["ok"] else ("failed" if r["final"] else "retrying")
        click.echo(f"{r['ts']}  {r['type']} (seq {r['seq']}) -> {r['url']}  attempt {r['attempt']}: "
                   f"{r['status'] if r['status'] is not None else r['error']}  {outcome}")


COMMANDS = [webhooks_group]
