"""The lineage a provenance document describes: one ancestry (a ``trace``) as plain records.

Every exporter maps this one value, so PROV, CycloneDX and SLSA agree on what a model came from, and a remote
client (whose trace comes over the wire) exports the very document a local store does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..model import Artifact, Run


@dataclass(frozen=True)
class Link:
    """A typed edge between two node keys (a digest, or ``run:<id>``), pointing the way data flowed."""

    parent: str
    child: str
    type: str
    role: str | None = None


@dataclass(frozen=True)
class Lineage:
    root: str
    artifacts: dict[str, Artifact]  # by digest text, in sorted order
    runs: dict[str, Run]  # by run id, in the order they started
    links: tuple[Link, ...]  # sorted

    @property
    def root_node(self) -> Artifact | Run:
        if self.root.startswith("run:"):
            return self.runs[self.root[4:]]
        return self.artifacts[self.root]

    def producer_of(self, digest: str) -> Run | None:
        """The run that produced an artifact (the last one, when several recorded the same bytes)."""
        runs = [self.runs[link.parent[4:]] for link in self.links
                if link.child == digest and link.type == "PRODUCED" and link.parent[4:] in self.runs]
        return max(runs, key=lambda r: (r.started_at or "", r.id)) if runs else None

    def inputs_of(self, run_id: str) -> list[tuple[Artifact, str | None]]:
        """What a run used, with each input's role, in digest order."""
        key = f"run:{run_id}"
        return [(self.artifacts[link.parent], link.role) for link in self.links
                if link.child == key and link.type == "USED" and link.parent in self.artifacts]

    def outputs_of(self, run_id: str) -> list[Artifact]:
        key = f"run:{run_id}"
        return [self.artifacts[link.child] for link in self.links
                if link.parent == key and link.type == "PRODUCED" and link.child in self.artifacts]


def node_key(node: Artifact | Run) -> str:
    return str(node.digest) if isinstance(node, Artifact) else f"run:{node.id}"


def from_trace(root: Artifact | Run, nodes: Sequence[Artifact | Run],
               edges: Sequence[tuple[Artifact | Run, Artifact | Run, str, str | None]]) -> Lineage:
    """The records of one trace: its nodes (root included) and typed edges between them."""
    every = [root, *nodes]
    artifacts = {str(n.digest): n for n in every if isinstance(n, Artifact)}
    runs = {n.id: n for n in every if isinstance(n, Run)}
    # artifacts are identified by digest here, so a digest's occurrences are one entity and the SAME_CONTENT
    # links that chain them in the graph (stores/projections/graph.py) say nothing
    links = {Link(node_key(p), node_key(c), str(getattr(t, "value", t)), r or None) for p, c, t, r in edges
             if str(getattr(t, "value", t)) != "SAME_CONTENT"}
    ordered_runs = sorted(runs.values(), key=lambda r: (r.started_at or "", r.id))
    rank = {f"run:{r.id}": f"r{i:09d}" for i, r in enumerate(ordered_runs)}

    def order(link: Link) -> tuple[str, str, str, str]:  # runs in the order they started, then digests
        return (rank.get(link.parent, "a" + link.parent), rank.get(link.child, "a" + link.child), link.type,
                link.role or "")

    return Lineage(node_key(root), dict(sorted(artifacts.items())), {r.id: r for r in ordered_runs},
                   tuple(sorted(links, key=order)))


def actor_of(run: Run) -> str | None:
    """Who ran it: the recorded agent, else the user@host the run's context captured."""
    if run.agent:
        return run.agent
    user, host = run.context.get("user"), run.context.get("host")
    if user and host:
        return f"{user}@{host}"
    return str(user) if user else None


def command_of(run: Run) -> list[str] | None:
    argv: Any = run.context.get("argv")
    return [str(a) for a in argv] if isinstance(argv, list) else None


def licence_of(artifact: Artifact) -> str | None:
    """A licence recorded in the artifact's metadata (``license`` or ``licence``), if any."""
    for key in ("license", "licence"):
        value = artifact.metadata.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict):
            name = value.get("id") or value.get("name")
            if isinstance(name, str) and name:
                return name
    return None
