"""Commands about runs' numbers: ``metrics RUN [KEY]`` (history, with a sparkline) and ``compare RUN RUN...``
(params and final metrics side by side, differences marked)."""

from __future__ import annotations

import json
from typing import Any

import click

from .context import client_session
from .options import JSON_OPTION
from .output import console, emit_json


@click.command("metrics")
@click.argument("run")
@click.argument("key", required=False)
@JSON_OPTION
def metrics_command(run: str, key: str | None, as_json: bool) -> None:
    """Show a run's metrics: each key's last value, range and history as a sparkline, or one KEY step by step.

    RUN is a run id or unique prefix, or a model whose producing run is meant.
    """
    from rich.markup import escape
    from rich.table import Table

    from ..errors import NotFoundError
    from ..refs import resolve_run
    from .sparkline import sparkline

    with client_session() as client:
        found = resolve_run(client.store, run)
        keys = [key] if key else sorted(found.metrics)
        if key and key not in found.metrics:
            known = ", ".join(sorted(found.metrics)) or "none"
            raise NotFoundError(f"run {found.id[:12]} has no metric {key!r} (its metrics: {known})")
        history = {k: client.store.metric_history(found.id, k) for k in keys}
    if as_json:
        emit_json({"run": found.id, "job": found.job, "metrics": {
            k: [{"step": s, "value": v, "ts": t} for s, v, t in rows] for k, rows in history.items()}})
        return
    out = console()
    if not keys:
        out.print(f"run {found.id[:12]} ({escape(found.job)}) logged no metrics")
        return
    if key:
        rows = history[key]
        table = Table("step", escape(key), "time", box=None)
        for step, value, ts in rows:
            table.add_row(str(step), f"{value:.6g}", ts)
        out.print(table)
        out.print(f"{escape(key)} {sparkline([v for _, v, _ in rows], 60)}")
        return
    table = Table("metric", "last", "min", "max", "steps", "history", box=None)
    for k in keys:
        values = [v for _, v, _ in history[k]] or [found.metrics[k]]
        table.add_row(escape(k), f"{found.metrics[k]:.6g}", f"{min(values):.6g}", f"{max(values):.6g}",
                      str(len(history[k])), sparkline(values))
    out.print(table)


@click.command("compare")
@click.argument("runs", nargs=-1, required=True)
@click.option(
    "--all", "show_all", is_flag=True, help="Show every param and metric, not only those that differ."
)
@JSON_OPTION
def compare_command(runs: tuple[str, ...], show_all: bool, as_json: bool) -> None:
    """Put runs' params and final metrics side by side; rows whose values differ are marked.

    Each RUN is a run id or unique prefix, or a model whose producing run is meant. Give at least two.
    """
    from rich.markup import escape
    from rich.table import Table

    from ..errors import ValidationError
    from ..refs import resolve_run

    if len(runs) < 2:
        raise ValidationError("compare", "needs at least two runs", "name two or more run ids or prefixes")
    with client_session() as client:
        found = [resolve_run(client.store, r) for r in runs]
    rows = _comparison(found)
    if as_json:
        emit_json({"runs": [{"id": r.id, "job": r.job, "status": r.status.value, "started_at": r.started_at}
                            for r in found], "rows": rows})
        return
    table = Table("", *(f"{escape(r.job)} {r.id[:12]}" for r in found), box=None)
    table.add_row("[dim]status[/]", *(r.status.value for r in found))
    shown = 0
    for row in rows:
        if not (row["differs"] or show_all):
            continue
        shown += 1
        cells = ["-" if v is None else escape(_cell(v)) for v in row["values"]]
        label = f"{row['section']}.{escape(row['key'])}"
        table.add_row(f"[bold yellow]{label}[/]" if row["differs"] else label,
                      *(f"[yellow]{c}[/]" if row["differs"] else c for c in cells))
    out = console()
    out.print(table)
    same = sum(1 for r in rows if not r["differs"])
    out.print(f"[dim]{len(rows) - same} differ, {same} the same"
              + ("" if show_all or not same else " (--all shows them)") + "[/]")


def _comparison(found: list[Any]) -> list[dict[str, Any]]:
    """One row per param and per final metric across the runs: its values (None where a run lacks it) and
    whether they differ."""
    rows = []
    for section, attr in (("param", "params"), ("metric", "metrics")):
        keys = sorted(set().union(*(getattr(r, attr) for r in found)))
        for key in keys:
            values = [getattr(r, attr).get(key) for r in found]
            texts = {json.dumps(v, sort_keys=True) for v in values}
            rows.append({"section": section, "key": key, "values": values, "differs": len(texts) > 1})
    return rows


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}" if not value.is_integer() else repr(value)
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


@click.group("run")
def run_group() -> None:
    """Act on one recorded run (close a run whose process died)."""


@run_group.command("close")
@click.argument("run")
@click.option("--status", type=click.Choice(["failed", "aborted", "completed"]), default="failed",
              show_default=True, help="How the run ended.")
@click.option("--reason", metavar="TEXT", help="Why, recorded as the run's error message.")
@JSON_OPTION
def run_close_command(run: str, status: str, reason: str | None, as_json: bool) -> None:
    """Record the end of RUN, a run left running (its process killed, or lost): its status and the reason.

    RUN is a run id or a unique prefix. A run that already ended is refused.
    """
    from .. import events as ev
    from ..errors import ValidationError
    from ..events import NewEvent
    from ..refs import find_run

    with client_session() as client:
        found = find_run(client.store, run)
        if found.status.value != "running":
            raise ValidationError("run", f"{found.id} already ended as {found.status.value}",
                                  "only a run recorded as running can be closed")
        payload: dict[str, Any] = {"run_id": found.id, "status": status}
        if reason or status != "completed":
            payload["error"] = {"type": "ClosedByUser", "message": reason or "closed with mlineage run close"}
        client.append([NewEvent(ev.RUN_ENDED, payload)])
        closed = client.store.get_run(found.id)
    assert closed is not None
    if as_json:
        emit_json({"id": closed.id, "status": closed.status.value, "ended_at": closed.ended_at,
                   "error": closed.error})
        return
    click.echo(f"closed run {closed.id[:12]} ({closed.job}) as {closed.status.value}"
               + (f": {reason}" if reason else ""))


COMMANDS = [metrics_command, compare_command, run_group]
