"""``lineage-diff A B``: what differs between two models' ancestries — the first tool for "v7 is worse than
v6".

Each side's whole ancestry is walked once. Artifacts are matched by name (or by digest when unnamed) within
their kind; runs are matched by job (the latest run of a job in the ancestry), and compared by parameters,
final metrics, git commit and recorded environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..model import Artifact, Run
from .query import LineageQuery, node_key, node_ref

if TYPE_CHECKING:
    from .engine import GraphEngine

_ENV_KEYS = ("python", "platform", "environment", "packages", "container")


@dataclass(frozen=True, slots=True)
class Difference:
    aspect: str  # dataset | model | code | environment | config | artifact | param | metric | run
    key: str  # artifact name (or digest), or job[.param]
    a: str | None  # value on A's side (None: absent there)
    b: str | None

    @property
    def change(self) -> str:
        return "only in A" if self.b is None else "only in B" if self.a is None else "changed"

    def to_dict(self) -> dict[str, Any]:
        return {"aspect": self.aspect, "key": self.key, "a": self.a, "b": self.b, "change": self.change}


@dataclass
class LineageDiff:
    a: Artifact | Run
    b: Artifact | Run
    differences: list[Difference] = field(default_factory=list)
    same: int = 0  # compared items that are equal on both sides
    truncated: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"a": node_key(self.a), "b": node_key(self.b), "same": self.same,
                "differences": [d.to_dict() for d in self.differences], "truncated": list(self.truncated)}


def _aspect(kind: str) -> str:
    if kind in ("dataset", "file", "directory"):
        return "dataset"
    if kind in ("model", "code", "environment", "config"):
        return kind
    return "artifact"


def _describe_artifact(a: Artifact) -> str:
    version = f"@{a.version}" if a.version is not None else ""
    return f"{a.name or ''}{version} {a.digest.short}".strip()


def _side(engine: GraphEngine, node: Artifact | Run, as_of_seq: int | None
          ) -> tuple[dict[tuple[str, str], str], list[str]]:
    result = engine.walk(LineageQuery(node_ref(node), "up", as_of_seq=as_of_seq))
    items: dict[tuple[str, str], set[str]] = {}
    latest: dict[str, Run] = {}
    for node_id, item in result.nodes.items():
        if node_id == result.root:
            continue
        if isinstance(item, Artifact):
            key = item.name if item.name is not None else str(item.digest)
            items.setdefault((_aspect(item.kind.value), key), set()).add(_describe_artifact(item))
        else:
            current = latest.get(item.job)
            if current is None or (item.started_at or "", item.id) > (current.started_at or "", current.id):
                latest[item.job] = item
    values = {k: ", ".join(sorted(v)) for k, v in items.items()}
    for job, run in latest.items():
        values[("run", job)] = run.status.value
        for name, value in run.params.items():
            values[("param", f"{job}.{name}")] = _text(value)
        for name, number in run.metrics.items():
            values[("metric", f"{job}.{name}")] = f"{number:.6g}"
        git = run.context.get("git")
        if isinstance(git, dict) and git.get("commit"):
            dirty = " (dirty)" if git.get("dirty") else ""
            values[("code", f"{job} git commit")] = f"{str(git['commit'])[:12]}{dirty}"
        for key in _ENV_KEYS:
            if key in run.context:
                values[("environment", f"{job}.{key}")] = _text(run.context[key])
    return values, list(result.truncated)


def _text(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def diff_lineage(engine: GraphEngine, a: Artifact | Run, b: Artifact | Run, as_of_seq: int | None = None
                 ) -> LineageDiff:
    left, cut_a = _side(engine, a, as_of_seq)
    right, cut_b = _side(engine, b, as_of_seq)
    out = LineageDiff(a, b, truncated=[f"A: {t}" for t in cut_a] + [f"B: {t}" for t in cut_b])
    order = {"dataset": 0, "model": 1, "code": 2, "environment": 3, "config": 4, "artifact": 5, "param": 6,
             "metric": 7, "run": 8}
    for key in sorted(left.keys() | right.keys(), key=lambda k: (order.get(k[0], 9), k[1])):
        va, vb = left.get(key), right.get(key)
        if va == vb:
            out.same += 1
        else:
            out.differences.append(Difference(key[0], key[1], va, vb))
    return out
