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
@click.option("--tree", "as_tree", is_flag=True,
              help="Show runs started inside another (a sweep's trials) under their parent.")
@JSON_OPTION
def runs_command(limit: int, job: str | None, status: str | None, as_tree: bool, as_json: bool) -> None:
    """List recorded runs, newest first. A running run whose process is gone, or that has shown no sign of
    life for too long, shows as lost."""
    from ..liveness import lost_reason

    with client_session() as client:
        if status in ("running", "lost"):  # which running runs are lost is known only here
            candidates = client.store.list_runs(limit=max(limit * 10, 1000), job=job, status="running")
            reasons = {r.id: lost_reason(r, client.store) for r in candidates}
            found = [r for r in candidates if (reasons[r.id] is not None) == (status == "lost")][:limit]
        else:
            found = client.store.list_runs(limit=limit, job=job, status=status)
            reasons = {r.id: lost_reason(r, client.store) for r in found}
    if as_json:
        emit_json([run_record(r, reasons[r.id]) for r in found])
        return
    if as_tree:
        _print_run_tree(found, reasons)
        return
    from rich.table import Table

    table = Table("run", "job", "kind", "status", "started", "metrics", box=None)
    for r in found:
        shown = "lost" if reasons[r.id] else r.status.value
        style = {"failed": "red", "aborted": "yellow", "running": "cyan", "lost": "magenta"}.get(
            shown, "green"
        )
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in list(r.metrics.items())[:4])
        table.add_row(r.id[:12], r.job, r.kind.value, f"[{style}]{shown}[/]", r.started_at or "", metrics)
    console().print(table if found else "no runs recorded yet")


def _print_run_tree(found: list[Run], reasons: dict[str, str | None]) -> None:
    """Runs under the run they were started inside (``parent_run_id`` in the context), newest first; a run
    whose parent is not in the listing starts a tree of its own."""
    from ..render import TREE_BRANCH, TREE_LAST, TREE_PIPE, TREE_SPACE

    ids = {r.id for r in found}
    children: dict[str | None, list[Run]] = {}
    for r in found:
        parent = r.context.get("parent_run_id")
        children.setdefault(parent if parent in ids else None, []).append(r)
    lines: list[str] = []

    def walk(run: Run, indent: str, guide: str) -> None:
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in list(run.metrics.items())[:4])
        lines.append(
            f"{indent}{guide}{run.job} [{'lost' if reasons.get(run.id) else run.status.value}] "
            f"{run.id[:12]}  {run.started_at or ''}"
            + (f"  {metrics}" if metrics else "")
        )
        below = children.get(run.id, [])
        deeper = indent + ((TREE_SPACE if guide == TREE_LAST else TREE_PIPE) if guide else "")
        for n, child in enumerate(below):
            walk(child, deeper, TREE_LAST if n == len(below) - 1 else TREE_BRANCH)

    for root in children.get(None, []):
        walk(root, "", "")
    click.echo("\n".join(lines) if lines else "no runs recorded yet")


def run_record(run: Run, reason: str | None) -> dict[str, Any]:
    """A run as the CLI shows it: its record, with status ``lost`` and the reason
    (``liveness.lost_reason``)."""
    from ..render import run_to_dict

    out = run_to_dict(run)
    if reason is not None:
        out["status"] = "lost"
        out["lost_reason"] = reason
    return out


@click.command("show")
@click.argument("ref")
@JSON_OPTION
def show_command(ref: str, as_json: bool) -> None:
    """Show one artifact or run: its record, inputs/outputs or producers, and lineage summary."""
    from ..model import Artifact, Run
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
            from .gate_commands import gate_rows

            out["gates"] = gate_rows(client, node)
        else:
            from ..liveness import lost_reason

            out = run_record(node, lost_reason(node, client.store))
            inputs, outputs = client.store.io_of_run(node.id)
            out["inputs"] = [dict(artifact_to_dict(a), role=role or None) for a, role in inputs]
            out["outputs"] = [dict(artifact_to_dict(a), role=role or None) for a, role in outputs]
            if hasattr(client.store, "engine"):  # reproduction verdicts naming the run (a local store)
                from ..reproduce.records import reproductions_of, reuse_of

                out["reproductions"] = reproductions_of(client.store, node.id)
                out["reused_from"] = (reuse_of(client.store, node.id) or {}).get("original_run_id")
        if isinstance(node, Run) or client.store.producers_of(str(node.digest)):
            from .reproduce_commands import show_reproducibility

            out["reproducibility"] = show_reproducibility(client, ref)
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
        if key == "reproductions":
            value = "\n".join(f"{v['verdict']}: run {v['run_id'][:12]} reproduces {v['original_run_id'][:12]}"
                               for v in value)
        elif key in ("inputs", "outputs", "produced_by"):
            value = "\n".join(
                (f"{v.get('role') or ''} {v.get('name') or ''}@{v.get('version') or ''} {v['digest']}".strip()
                 if v["type"] == "artifact" else f"{v['job']} {v['id']} [{v['status']}]")
                for v in value
            )
        elif key == "versions":
            value = "\n".join(f"@{v['version']} {v['digest'][:19]} {v['recorded_at'] or ''}"
                               + (" (shown)" if v["version"] == record.get("version") else "") for v in value)
        elif key == "reproducibility":
            value = "yes" if value["reproducible"] else (
                f"no: {', '.join(value['failing'])} (`mlineage reproducible REF` says why)")
            key = "reproducible"
        elif key == "gates":
            value = "\n".join(f"{g['label']} {g['verdict']} (policy {g['policy_digest'][:19]}, {g['at']})"
                               for g in value)
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
            result = client.lineage(
                ref, direction, depth=depth, limit=limit, kinds=kinds or None, as_of=as_of
            )
            print_lineage(result, "json" if as_json else fmt)

    return command


trace_command = _lineage_command(
    "trace", "up", "Show everything REF was derived from (all ancestors), as a tree."
)
impact_command = _lineage_command(
    "impact", "down", "Show everything derived from REF (all descendants), as a tree."
)

COMMANDS = [runs_command, show_command, trace_command, impact_command]
