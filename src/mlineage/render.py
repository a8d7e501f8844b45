"""Plain data views of domain objects for JSON output and for the tree renderer (no I/O, no Rich)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model import Artifact, ArtifactKind, Digest, LineageRecord, Run, RunKind, RunStatus


def artifact_to_dict(a: Artifact) -> dict[str, Any]:
    shown = {
        "type": "artifact",
        "digest": str(a.digest),
        "kind": a.kind.value,
        "name": a.name,
        "version": a.version,
        "size": a.size,
        "media_type": a.media_type,
        "uri": a.uri,
        "metadata": a.metadata,
        "created_at": a.created_at,
    }
    if a.occurrence > 1:  # the same content again, as a node of its own (only then: the usual shape stays)
        shown["occurrence"] = a.occurrence
    return shown


def run_to_dict(r: Run) -> dict[str, Any]:
    return {
        "type": "run",
        "id": r.id,
        "job": r.job,
        "kind": r.kind.value,
        "status": r.status.value,
        "params": r.params,
        "metrics": r.metrics,
        "context": r.context,
        "agent": r.agent,
        "error": r.error,
        "started_at": r.started_at,
        "ended_at": r.ended_at,
    }


def node_to_dict(node: Artifact | Run) -> dict[str, Any]:
    return artifact_to_dict(node) if isinstance(node, Artifact) else run_to_dict(node)


def artifact_from_dict(d: dict[str, Any]) -> Artifact:
    """The inverse of ``artifact_to_dict`` (a record that crossed the wire)."""
    return Artifact(
        Digest.parse(d["digest"]),
        ArtifactKind(d["kind"]),
        d.get("size"),
        d.get("name"),
        d.get("version"),
        d.get("media_type"),
        d.get("uri"),
        d.get("metadata") or {},
        d.get("created_at"),
        int(d.get("occurrence") or 1),
    )


def run_from_dict(d: dict[str, Any]) -> Run:
    """The inverse of ``run_to_dict``."""
    return Run(
        d["id"],
        d["job"],
        RunKind(d["kind"]),
        RunStatus(d["status"]),
        d.get("params") or {},
        d.get("metrics") or {},
        d.get("context") or {},
        d.get("agent"),
        d.get("error"),
        d.get("started_at"),
        d.get("ended_at"),
    )


def node_from_dict(d: dict[str, Any]) -> Artifact | Run:
    return artifact_from_dict(d) if d.get("type") == "artifact" else run_from_dict(d)


def node_label(node: Artifact | Run) -> str:
    """One line naming a node: kind, name@version (or, unnamed, the path it was recorded from) and short
    id."""
    if isinstance(node, Artifact):
        path = node.metadata.get("path") if isinstance(node.metadata, dict) else None
        name = f"{node.name}@{node.version} " if node.name else (f"{path} " if isinstance(path, str) else "")
        again = f" (occurrence {node.occurrence})" if node.occurrence > 1 else ""
        return f"{node.kind.value} {name}{node.digest.short}{again}"
    return f"run {node.job} [{node.status.value}] {node.id[:12]}"


def lineage_record_to_dict(record: LineageRecord) -> dict[str, Any]:
    return {
        "model_id": record.model_id,
        "parent_artifacts": [artifact_to_dict(a) for a in record.parent_artifacts],
        "transformation_logic": record.transformation_logic,
        "environment_context": record.environment_context,
        "output_metrics": record.output_metrics,
        "timestamp": record.timestamp,
    }


@dataclass(frozen=True, slots=True)
class TreeLine:
    """One line of a lineage tree: indentation depth, the guide drawn before it (``│   ├── ``, as ``tree``
    draws), label, the edge it hangs by, and whether it repeats a node shown above."""

    depth: int
    label: str
    via: str
    repeated: bool
    guide: str = ""


TREE_BRANCH, TREE_LAST, TREE_PIPE, TREE_SPACE = "├── ", "└── ", "│   ", "    "  # as `tree` draws


def tree_lines(nodes: dict[int, Artifact | Run], edges: list[tuple[int, int, str, str]], root: int,
               direction: str, max_lines: int = 2000,
               depths: dict[int, int] | None = None) -> tuple[list[TreeLine], bool]:
    """Flatten a DAG into tree lines (depth first); a node reached twice is shown once in full and then
    marked as repeated, so shared ancestry (diamonds) does not explode the output.

    Nodes in ``nodes`` that no edge connects to the root (a ``--kind`` filter keeps the nodes but drops the
    runs between them) hang under the root with their hop distance from ``depths`` as the edge label, so the
    tree lists every node of the result."""
    children: dict[int, list[tuple[int, str]]] = {}
    for parent, child, type_, role in edges:
        src, dst = (child, parent) if direction == "up" else (parent, child)
        children.setdefault(src, []).append((dst, type_ + (f":{role}" if role else "")))
    reached = {root} | {dst for targets in children.values() for dst, _ in targets}
    hops = depths or {}
    for node in sorted((n for n in nodes if n not in reached), key=lambda n: (hops.get(n, 0), n)):
        distance = hops.get(node)
        children.setdefault(root, []).append(
            (node, f"{distance} hop{'s' if distance != 1 else ''}" if distance is not None else ""))
    for targets in children.values():
        targets.sort(key=lambda x: node_label(nodes[x[0]]))
    lines: list[TreeLine] = []
    shown: set[int] = set()
    # (node, depth, edge label, guide of its ancestors, is the last child)
    stack: list[tuple[int, int, str, str, bool]] = [(root, 0, "", "", True)]
    cut = False
    while stack:
        node, depth, via, indent, last = stack.pop()
        if len(lines) >= max_lines:
            cut = True
            break
        repeated = node in shown
        guide = indent + (TREE_LAST if last else TREE_BRANCH) if depth else ""
        lines.append(TreeLine(depth, node_label(nodes[node]), via, repeated, guide))
        if repeated:
            continue
        shown.add(node)
        below = indent + (TREE_SPACE if last else TREE_PIPE) if depth else ""
        targets = children.get(node, [])
        for position in range(len(targets) - 1, -1, -1):
            target, label = targets[position]
            stack.append((target, depth + 1, label, below, position == len(targets) - 1))
    return lines, cut
