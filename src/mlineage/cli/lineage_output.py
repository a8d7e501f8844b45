"""Shared options and output of the lineage commands (trace, impact, path, closure, lineage-diff).

Only click at module level: numpy, Rich and the store are imported inside the functions that need them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from .options import AS_OF_OPTION, DEPTH_OPTION, KINDS_OPTION, format_option, json_option, limit_option
from .output import console

if TYPE_CHECKING:
    from ..graph import LineageResult

TREE_MAX_NODES = 2000  # beyond this a tree is unreadable: show counts and the first levels instead
DIAGRAM_MAX_NODES = 10_000  # DOT / Mermaid refuse beyond this (cut with --depth/--limit/--kind)

FORMATS = ("text", "json", "dot", "mermaid")


def lineage_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        DEPTH_OPTION,
        limit_option(100_000, "Keep at most this many nodes, nearest first (reported if it cuts)."),
        KINDS_OPTION,
        AS_OF_OPTION,
        format_option(FORMATS, "Output: text (a tree), JSON, Graphviz DOT or Mermaid."),
        json_option("Print machine-readable JSON (same as --format json)."),
    ]):
        fn = option(fn)
    return fn


def emit_result_json(result: LineageResult, page_size: int = 2000) -> None:
    """Stream the documented JSON shape page by page: a million-node result is never one big dict. The edges'
    end keys are collected from the pages as they go, so node records are read once, and each key is encoded
    once (an edge line is put together from the encoded keys)."""
    from ..graph.query import dict_key

    encode = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str).encode  # one encoder, reused
    header = result.header()
    parts = ["{\n"]
    parts += [f"  {json.dumps(key)}: {encode(header[key])},\n" for key in sorted(header)]
    parts.append('  "nodes": [')
    keys: dict[int, str] = {}  # node id -> its key as JSON text, for the edges
    first = True
    ids = result.id_list()
    for offset in range(0, len(ids), page_size):
        for node_id, node in zip(
            ids[offset : offset + page_size], result.page(offset, page_size), strict=True
        ):
            keys[node_id] = encode(dict_key(node))
            parts.append(("\n    " if first else ",\n    ") + encode(node))
            first = False
        click.echo("".join(parts), nl=False)
        parts = []
    parts.append("\n  ],\n" if not first else "],\n")
    parts.append('  "edges": [')
    first = True
    texts: dict[str, str] = {}  # edge types and roles as JSON text (a handful of distinct values)
    for p, c, t, r in result.edges:
        type_ = texts.get(t) or texts.setdefault(t, encode(t))
        role = (texts.get(r) or texts.setdefault(r, encode(r))) if r else "null"
        # the same text as encode({"parent": ..., "child": ..., "type": t, "role": r or None}), keys sorted
        parts.append(("\n    " if first else ",\n    ")
                     + f'{{"child": {keys[c]}, "parent": {keys[p]}, "role": {role}, "type": {type_}}}')
        first = False
    parts.append("\n  ]\n}\n" if not first else "]\n}\n")
    click.echo("".join(parts), nl=False)


def print_lineage(result: LineageResult, fmt: str) -> None:
    direction = result.query.direction
    if fmt == "json":
        emit_result_json(result)
        return
    if fmt in ("dot", "mermaid"):
        if result.count + 1 > DIAGRAM_MAX_NODES:
            from ..errors import ValidationError

            raise ValidationError(
                "format",
                f"{result.count + 1:,} nodes are too many for a {fmt} diagram "
                f"(at most {DIAGRAM_MAX_NODES:,})",
                "cut it with --depth, --limit or --kind",
            )
        from ..formats import to_dot, to_mermaid

        text = (to_dot(result.nodes, result.edges, result.root) if fmt == "dot"
                else to_mermaid(result.nodes, result.edges, result.root))
        click.echo(text, nl=False)
        for reason in result.truncated:
            click.echo(f"truncated: {reason}", err=True)
        return
    from rich.markup import escape

    out = console()
    noun = "ancestor" if direction == "up" else "descendant"
    if result.count + 1 > TREE_MAX_NODES:
        import numpy as np

        per_depth = np.bincount(result.depths)
        out.print(f"[bold]{result.count:,} {noun}s[/] — too many to draw as a tree; by distance:")
        for depth, number in enumerate(per_depth.tolist()[1:], start=1):
            if number:
                out.print(f"  {depth} hop{'s' if depth != 1 else ''}: {number:,}")
        out.print("[dim]use --json (streams every node), or cut with --depth, --limit or --kind[/]")
    else:
        from ..render import tree_lines

        lines, cut = tree_lines(result.nodes, result.edges, result.root, direction, depths=result.depth)
        for line in lines:
            prefix = line.guide
            via = f"[dim]{escape(line.via)}[/] " if line.via else ""
            mark = " [dim](shown above)[/]" if line.repeated else ""
            out.print(f"{prefix}{via}{escape(line.label)}{mark}")
        out.print(f"[dim]{result.count:,} {noun}{'s' if result.count != 1 else ''}[/]")
        if cut:
            out.print("[yellow]tree display cut at 2000 lines: use --json for the full result[/]")
    for reason in result.truncated:
        out.print(f"[yellow]truncated: {escape(reason)}[/]")
