"""Lineage graphs as Graphviz DOT and Mermaid text, and the JSON Schema of ``trace``/``impact`` output.

Pure text generation (no I/O). Identifiers are generated (``n<id>``), never taken from user data; labels are
escaped for each language, so any artifact name or job renders and parses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .model import Artifact, Run
from .render import node_label

EdgeRow = tuple[int, int, str, str]

INFERRED = "INFERRED"  # the edge type of lineage a scan inferred (importers/records.py)
_DOT_SHAPES = {"run": "box", "dataset": "cylinder", "model": "component"}


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _kind(node: Artifact | Run) -> str:
    return "run" if isinstance(node, Run) else node.kind.value


def to_dot(nodes: Mapping[int, Artifact | Run], edges: Sequence[EdgeRow], root: int | None = None,
           title: str = "lineage") -> str:
    lines = [f"digraph {_dot_quote(title)} {{", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for node_id in sorted(nodes):
        node = nodes[node_id]
        attrs = [f"label={_dot_quote(node_label(node))}", f"shape={_DOT_SHAPES.get(_kind(node), 'ellipse')}"]
        if node_id == root:
            attrs.append("penwidth=2")
        lines.append(f"  n{node_id} [{', '.join(attrs)}];")
    for parent, child, type_, role in edges:
        label = type_ + (f":{role}" if role else "")
        style = ", style=dashed" if type_ == INFERRED else ""  # a guess (mlineage scan), never a tracked edge
        lines.append(f"  n{parent} -> n{child} [label={_dot_quote(label)}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


_MERMAID_ESCAPES = {c: f"#{ord(c)};" for c in '#"[]|<>&{}()`'}


def _mermaid_label(text: str) -> str:
    """A quoted Mermaid label; characters with a meaning in Mermaid become its ``#<code>;`` entity codes."""
    return '"' + "".join(_MERMAID_ESCAPES.get(c, c) for c in text.replace("\n", " ").replace("\r", " ")) + '"'


def to_mermaid(nodes: Mapping[int, Artifact | Run], edges: Sequence[EdgeRow], root: int | None = None) -> str:
    lines = ["flowchart LR"]
    for node_id in sorted(nodes):
        node = nodes[node_id]
        label = _mermaid_label(node_label(node))
        lines.append(f"  n{node_id}[{label}]" if isinstance(node, Run) else f"  n{node_id}([{label}])")
    for parent, child, type_, role in edges:
        arrow = "-.->" if type_ == INFERRED else "-->"  # inferred edges (mlineage scan) are dotted
        lines.append(f"  n{parent} {arrow}|{_mermaid_label(type_ + (':' + role if role else ''))}| n{child}")
    if root is not None and root in nodes:
        lines.append("  classDef root stroke-width:3px")
        lines.append(f"  class n{root} root")
    return "\n".join(lines) + "\n"


_NODE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "depth"],
    "properties": {
        "type": {"enum": ["artifact", "run"]},
        "depth": {"type": "integer", "minimum": 0},
        "digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
        "id": {"type": "string"},
        "kind": {"type": "string"},
        "occurrence": {"type": "integer", "minimum": 2},  # absent for a digest's first (usually only) node
    },
    "allOf": [
        {"if": {"properties": {"type": {"const": "artifact"}}}, "then": {"required": ["digest", "kind"]}},
        {"if": {"properties": {"type": {"const": "run"}}}, "then": {"required": ["id", "job", "status"]}},
    ],
}

LINEAGE_JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "mlineage trace/impact result",
    "type": "object",
    "required": ["root", "direction", "query", "count", "reachable", "truncated", "engine", "nodes", "edges"],
    "additionalProperties": False,
    "properties": {
        "root": {"type": "string"},
        "direction": {"enum": ["ancestors", "descendants"]},
        "query": {
            "type": "object",
            "required": ["start", "direction", "max_depth", "limit", "as_of_seq", "kinds"],
            "properties": {
                "start": {"type": "string"},
                "direction": {"enum": ["up", "down"]},
                "max_depth": {"type": ["integer", "null"], "minimum": 0},
                "limit": {"type": ["integer", "null"], "minimum": 1},
                "as_of_seq": {"type": ["integer", "null"], "minimum": 0},
                "kinds": {"type": ["array", "null"], "items": {"type": "string"}},
            },
        },
        "count": {"type": "integer", "minimum": 0},
        "reachable": {"type": ["integer", "null"], "minimum": 0},
        "truncated": {"type": "array", "items": {"type": "string"}},
        "engine": {"enum": ["memory", "sql"]},
        "nodes": {"type": "array", "items": _NODE_SCHEMA},
        "edges": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["parent", "child", "type", "role"],
                "additionalProperties": False,
                "properties": {
                    "parent": {"type": "string"},
                    "child": {"type": "string"},
                    "type": {
                        "type": "string",
                        "pattern": "^[A-Z][A-Z0-9_]*$",
                    },  # USED, PRODUCED, DERIVED_FROM, CONTAINS...
                    "role": {"type": ["string", "null"]},
                },
            },
        },
    },
}
