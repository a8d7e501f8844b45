"""Read-only commands: runs, show, trace, impact. Every one has --json (trace/impact: see lineage_output)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from .context import client_session
from .options import JSON_OPTION, limit_option
from .output import console, emit_json

if TYPE_CHECKING:
    from ..model import Run


@click.command("runs")
@limit_option(20, "How many runs, newest first.", short=True)
@click.option("--job", help="Only runs of this job.")
@click.option("--status", type=click.Choice(["running", "lost", "completed", "failed", "aborted"]),
              help="Only this status (lost: recorded as running, but its process is gone).")
@JSON_OPTION
def runs_command(limit: int, job: str | None, status: str | None, as_json: bool) -> None:
    """List recorded runs, newest first. A running run whose process is gone shows as lost."""
    from ..liveness import lost_reason, shown_status

    with client_session() as client:
        if status in ("running", "lost"):  # which running runs are lost is known only here
            candidates = client.store.list_runs(limit=max(limit * 10, 1000), job=job, status="running")
            found = [r for r in candidates if (lost_reason(r) is not None) == (status == "lost")][:limit]
        else:
            found = client.store.list_runs(limit=limit, job=job, status=status)
    if as_json:
        emit_json([run_record(r) for r in found])
        return
    from rich.table import Table

    table = Table("run", "job", "kind", "status", "started", "metrics", box=None)
    for r in found:
        shown = shown_status(r)
        style = {"failed": "red", "aborted": "yellow", "running": "cyan", "lost": "magenta"}.get(shown, "green")
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in list(r.metrics.items())[:4])
        table.add_row(r.id[:12], r.job, r.kind.value, f"[{style}]{shown}[/]", r.started_at or "", metrics)
    console().print(table if found else "no runs recorded yet")


def run_record(run: Run) -> dict[str, Any]:
    """A run as the CLI shows it: its record, with status ``lost`` and the reason when its process is gone."""
    from ..liveness import lost_reason
    from ..render import run_to_dict

    out = run_to_dict(run)
    reason = lost_reason(run)
    if reason is not None:
        out["status"] = "lost"
        out["lost_reason"] = reason
    return out


@click.command("show")
@click.argument("ref")
@JSON_OPTION
def show_command(ref: str, as_json: bool) -> None:
    """Show one artifact or run: its record, inputs/outputs or producers, and lineage summary."""
    from ..model import Artifact
    from ..render import artifact_to_dict, lineage_record_to_dict, run_to_dict

    out: dict[str, Any]
    with client_session() as client:
        node = client.resolve(ref)
        if isinstance(node, Artifact):
            out = artifact_to_dict(node)
            out["produced_by"] = [run_to_dict(r) for r in client.store.producers_of(str(node.digest))]
            out["blob_present"] = client.blobs.has(node.digest)
            if node.kind.value == "model":
                out["lineage_record"] = lineage_record_to_dict(client.lineage_record(node))
            if node.name:
                from .version_commands import version_rows

                out["versions"] = version_rows(client, node.name)
        else:
            out = run_record(node)
            inputs, outputs = client.store.io_of_run(node.id)
            out["inputs"] = [dict(artifact_to_dict(a), role=role or None) for a, role in inputs]
            out["outputs"] = [dict(artifact_to_dict(a), role=role or None) for a, role in outputs]
    if as_json:
        emit_json(out)
        return
    _print_record(out)


def _print_record(record: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(show_header=False, box=None)
    for key, value in record.items():
        if value in (None, {}, []):
            continue
        if key in ("inputs", "outputs", "produced_by"):
            value = "\n".join(
                (f"{v.get('role') or ''} {v.get('name') or ''}@{v.get('version') or ''} {v['digest']}".strip()
                 if v["type"] == "artifact" else f"{v['job']} {v['id']} [{v['status']}]")
                for v in value
            )
        elif key == "versions":
            value = "\n".join(f"@{v['version']} {v['digest'][:19]} {v['recorded_at'] or ''}"
                               + (" (shown)" if v["version"] == record.get("version") else "") for v in value)
        elif key == "lineage_record":
            value = ", ".join(f"{a['name'] or a['digest'][:19]}" for a in value["parent_artifacts"]) or "-"
            key = "parents"
        elif isinstance(value, dict):
            value = "\n".join(f"{k}: {v}" for k, v in value.items())
        table.add_row(f"[bold]{key}[/]", str(value))
    console().print(table)


def _lineage_command(name: str, direction: str, doc: str) -> click.Command:
    from .lineage_output import lineage_options

    @click.command(name, help=doc)
    @click.argument("ref")
    @lineage_options
    def command(ref: str, depth: int | None, limit: int, kinds: tuple[str, ...], as_of: str | None, fmt: str,
                as_json: bool) -> None:
        from .lineage_output import print_lineage

        with client_session(one_shot=True) as client:
            result = client.lineage(ref, direction, depth=depth, limit=limit, kinds=kinds or None, as_of=as_of)
            print_lineage(result, "json" if as_json else fmt)

    return command


trace_command = _lineage_command("trace", "up", "Show everything REF was derived from (all ancestors), as a tree.")
impact_command = _lineage_command("impact", "down", "Show everything derived from REF (all descendants), as a tree.")

COMMANDS = [runs_command, show_command, trace_command, impact_command]
