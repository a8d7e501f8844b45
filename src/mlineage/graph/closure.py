"""``closure REF``: every anchor needed to reproduce REF — data, code and environment — with digests and
whether each content-addressed blob is present in the artifact store (missing means not reproducible).

Anchors come from REF's whole ancestry:

* data: the source artifacts that are not code or environment artifacts — those with no parent artifact and
  no producing run that itself used recorded data (an ingest run's output is a source) — each needs its blob;
* code: ``code`` artifacts in the ancestry (blob needed), and each ancestor run's git commit from its context;
* environment: ``environment`` artifacts in the ancestry (blob needed), and each run's recorded python /
  platform / package information from its context; a container image recorded by tag only (no digest) is
  not pinned, so it is reported missing.

Intermediate artifacts (produced inside the ancestry) are listed too, but they can be regenerated, so a
missing intermediate blob does not make REF irreproducible.

Whether REF is reproducible is not decided here: the anchors are the evidence, and the verdict is the
reproducibility predicate's (``mlineage.reproduce.predicate``), judged on the same walk -- so ``closure``,
``reproducible``, ``show`` and the server give one answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..model import Artifact, Digest, Run
from ..reproduce.facts import assess_walk
from ..reproduce.predicate import Reproducibility
from .query import LineageQuery, node_key, node_ref

if TYPE_CHECKING:
    from .engine import GraphEngine

CODE_KINDS = frozenset({"code"})
ENVIRONMENT_KINDS = frozenset({"environment"})
ENVIRONMENT_CONTEXT_KEYS = ("environment", "python", "platform", "packages", "container", "hardware")


@dataclass(frozen=True, slots=True)
class Anchor:
    category: str  # data | code | environment
    ref: str  # what it is: name@version, a digest, git:<commit>, or run:<id>/python
    digest: str | None  # content digest when there is one
    present: bool | None  # blob in the artifact store (None: not a blob, nothing to check)
    source: str  # "artifact" or "run-context"
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"category": self.category, "ref": self.ref, "digest": self.digest, "present": self.present,
                "source": self.source, "detail": self.detail}


@dataclass
class Closure:
    root: Artifact | Run
    anchors: list[Anchor]
    intermediates: list[Anchor]
    runs: list[Run]
    missing: list[str]
    truncated: list[str]
    report: Reproducibility | None = None  # R(m) over the whole ancestry
    direct_report: Reproducibility | None = None  # R(m) of the producing runs alone

    @property
    def reproducible(self) -> bool:
        return not self.missing

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": node_key(self.root), "reproducible": self.reproducible, "missing": list(self.missing),
            "anchors": [a.to_dict() for a in self.anchors],
            "intermediates": [a.to_dict() for a in self.intermediates],
            "runs": [{"id": r.id, "job": r.job, "status": r.status.value} for r in self.runs],
            "truncated": list(self.truncated),
            "predicate": self.report.to_dict() if self.report is not None else None,
            "direct_predicate": self.direct_report.to_dict() if self.direct_report is not None else None,
        }


def _label(a: Artifact) -> str:
    return f"{a.name}@{a.version}" if a.name is not None and a.version is not None else str(a.digest)


def _diff_digests(runs: Iterable[Run]) -> list[Digest]:
    found = []
    for run in runs:
        git = run.context.get("git")
        diff = git.get("diff_sha256") if isinstance(git, dict) else None
        if isinstance(diff, str):
            try:
                found.append(Digest.parse(diff))
            except ValueError:
                pass
    return found


def dependency_closure(engine: GraphEngine, node: Artifact | Run, has_blob: Callable[[Digest], bool],
                       as_of_seq: int | None = None) -> Closure:
    result = engine.walk(LineageQuery(node_ref(node), "up", as_of_seq=as_of_seq))
    nodes = result.nodes
    prefetch = getattr(has_blob, "prefetch", None)
    if prefetch is not None:  # one batched question to a remote for the whole walk, not one per digest
        prefetch([item.digest for item in nodes.values() if isinstance(item, Artifact)]
                 + _diff_digests(item for item in nodes.values() if isinstance(item, Run)))

    def is_data(node_id: int) -> bool:
        item = nodes.get(node_id)
        return isinstance(item, Artifact) and item.kind.value not in CODE_KINDS | ENVIRONMENT_KINDS

    # a run regenerates its outputs only from data it recorded: an ingest run with no data inputs fetched
    # from outside, so what it produced is a source anchor, not a regenerable intermediate
    runs_with_data = {child for parent, child, _t, _r in result.edges
                      if isinstance(nodes.get(child), Run) and is_data(parent)}
    has_parent = {child for parent, child, _t, _r in result.edges
                  if parent in runs_with_data or is_data(parent)}
    anchors: list[Anchor] = []
    intermediates: list[Anchor] = []
    runs: list[Run] = []
    for node_id in result.id_list():
        item = nodes[node_id]
        if isinstance(item, Run):
            runs.append(item)
            continue
        if node_id == result.root:
            continue
        kind = item.kind.value
        category = "code" if kind in CODE_KINDS else "environment" if kind in ENVIRONMENT_KINDS else "data"
        present = has_blob(item.digest)
        anchor = Anchor(category, _label(item), str(item.digest), present, "artifact", {"kind": kind})
        if node_id in has_parent and category == "data":
            intermediates.append(anchor)
            continue
        anchors.append(anchor)
        if category == "environment" and unpinned_image(item.metadata) is not None:
            anchor.detail["pinned"] = False
    commits: dict[str, Anchor] = {}
    for run in runs:
        git = run.context.get("git") if isinstance(run.context.get("git"), dict) else None
        if git and git.get("commit"):
            commit = str(git["commit"])
            detail = {k: v for k, v in git.items() if k != "commit"}
            detail["runs"] = sorted({*commits[commit].detail.get("runs", []), run.id}) if commit in commits \
                else [run.id]
            commits[commit] = Anchor("code", f"git:{commit}", commit, None, "run-context", detail)
        environment = {k: run.context[k] for k in ENVIRONMENT_CONTEXT_KEYS if k in run.context}
        if environment:
            anchors.append(
                Anchor(
                    "environment",
                    f"run:{run.id}",
                    _env_digest(environment),
                    None,
                    "run-context",
                    {"job": run.job, **environment},
                )
            )
    anchors.extend(commits.values())
    order = {"data": 0, "code": 1, "environment": 2}
    anchors.sort(key=lambda a: (order[a.category], a.source, a.ref))
    direct, recursive = assess_walk(node_key(node), result.root, nodes, result.edges, has_blob)
    missing = recursive.reasons()
    if result.truncated:
        missing.append("the ancestry was cut short, so not every anchor could be checked")
    return Closure(node, anchors, intermediates, runs, missing, list(result.truncated), recursive, direct)


def unpinned_image(record: dict[str, Any]) -> str | None:
    """The container image a run context or an environment manifest's metadata names by tag only, or None."""
    container = record.get("container")
    if isinstance(container, dict) and container.get("image") and not container.get("image_digest"):
        return str(container["image"])
    return None


def _env_digest(environment: dict[str, Any]) -> str:
    """A digest of the recorded environment values (canonical JSON), to compare environments at a glance."""
    import hashlib
    import json

    text = json.dumps(environment, sort_keys=True, separators=(",", ":"), default=str).encode()
    return "sha256:" + hashlib.sha256(text).hexdigest()
