"""Lineage commands beyond trace/impact: path, closure, lineage-diff. Each calls one Client method."""

from __future__ import annotations

import click

from .context import client_session
from .options import AS_OF_OPTION, JSON_OPTION, format_option
from .output import console, emit_json


@click.command("path")
@click.argument("source")
@click.argument("target")
@click.option("--max-paths", type=click.IntRange(min=1), default=20, show_default=True,
              help="Show at most this many chains, shortest first (the total is always counted).")
@format_option(
    ("text", "json", "dot", "mermaid"), "Output: text (the chains), JSON, Graphviz DOT or Mermaid."
)
@AS_OF_OPTION
@JSON_OPTION
def path_command(
    source: str, target: str, max_paths: int, fmt: str, as_of: str | None, as_json: bool
) -> None:
    """Show the chain(s) of runs and artifacts from SOURCE to TARGET (either may be the ancestor)."""
    from rich.markup import escape

    from ..render import node_label

    with client_session(one_shot=True) as client:
        result = client.path(source, target, as_of=as_of, max_paths=max_paths)
    fmt = "json" if as_json else fmt
    if fmt == "json":
        emit_json(result.to_dict())
        return
    if fmt in ("dot", "mermaid"):
        from ..formats import to_dot, to_mermaid

        text = to_dot(result.nodes, result.edges) if fmt == "dot" else to_mermaid(result.nodes, result.edges)
        click.echo(text, nl=False)
        return
    out = console()
    if not result.found:
        out.print(f"no lineage path between {escape(node_label(result.source))} and "
                  f"{escape(node_label(result.target))} (neither is an ancestor of the other)")
        return
    if result.swapped:
        out.print("[dim]TARGET is an ancestor of SOURCE: showing chains from TARGET down to SOURCE[/]")
    labels = {i: node_label(n) for i, n in result.nodes.items()}
    for number, chain in enumerate(result.paths, start=1):
        out.print(f"[bold]chain {number}[/] ({len(chain) - 1} hops)")
        for step, node_id in enumerate(chain):
            out.print(f"  {'  ' * step}{'└─ ' if step else ''}{escape(labels[node_id])}")
    total = "unknown (cycle)" if result.total_paths is None else f"{result.total_paths:,}"
    out.print(f"[dim]{total} chain(s); {len(result.nodes):,} node(s) lie on some chain[/]")
    for reason in result.truncated:
        out.print(f"[yellow]truncated: {escape(reason)}[/]")


@click.command("closure")
@click.argument("ref")
@AS_OF_OPTION
@JSON_OPTION
def closure_command(ref: str, as_of: str | None, as_json: bool) -> None:
    """List every data, code and environment anchor needed to reproduce REF, and whether each is present.

    The verdict is R(REF) over the whole ancestry (`mlineage reproducible REF --recursive`); exit 1 when REF
    is not reproducible."""
    from rich.markup import escape
    from rich.table import Table

    with client_session(one_shot=True) as client:
        closure = client.closure(ref, as_of=as_of)
    if as_json:
        emit_json(closure.to_dict())
        if not closure.reproducible:
            raise SystemExit(1)
        return
    table = Table("anchor", "ref", "digest", "present", "from", box=None)
    mark = {True: "[green]yes[/]", False: "[red]MISSING[/]", None: "[dim]-[/]"}
    for a in closure.anchors:
        digest = (a.digest[:19] if a.digest and a.digest.startswith("sha256:") else (a.digest or "")[:12])
        table.add_row(a.category, escape(a.ref), digest, mark[a.present], a.source)
    out = console()
    out.print(table if closure.anchors else "no anchors recorded")
    if closure.intermediates:
        absent = sum(1 for a in closure.intermediates if a.present is False)
        out.print(f"[dim]{len(closure.intermediates)} intermediate artifact(s) (regenerable); "
                  f"{absent} without a stored blob[/]")
    if closure.reproducible:
        out.print("[green]reproducible: every anchor is recorded and present[/]")
    else:
        out.print("[red]not reproducible:[/]")
        for reason in closure.missing:
            out.print(f"  - {escape(reason)}")
    for reason in closure.truncated:
        out.print(f"[yellow]truncated: {escape(reason)}[/]")
    if not closure.reproducible:
        raise SystemExit(1)


@click.command("lineage-diff")
@click.argument("model_a")
@click.argument("model_b")
@AS_OF_OPTION
@JSON_OPTION
def lineage_diff_command(model_a: str, model_b: str, as_of: str | None, as_json: bool) -> None:
    """Show what differs between two models' ancestries: datasets, code, environment, parameters."""
    from rich.markup import escape
    from rich.table import Table

    with client_session(one_shot=True) as client:
        diff = client.lineage_diff(model_a, model_b, as_of=as_of)
    if as_json:
        emit_json(diff.to_dict())
        return
    out = console()
    if not diff.differences:
        out.print(f"the two ancestries match ({diff.same} item(s) compared)")
        return
    table = Table("aspect", "key", f"A ({escape(model_a)})", f"B ({escape(model_b)})", "change", box=None)
    for d in diff.differences:
        style = {"changed": "yellow", "only in A": "red", "only in B": "green"}[d.change]
        table.add_row(
            d.aspect, escape(d.key), escape(d.a or "-"), escape(d.b or "-"), f"[{style}]{d.change}[/]"
        )
    out.print(table)
    out.print(f"[dim]{len(diff.differences)} difference(s), {diff.same} item(s) the same[/]")
    for reason in diff.truncated:
        out.print(f"[yellow]truncated: {escape(reason)}[/]")


COMMANDS = [path_command, closure_command, lineage_diff_command]
