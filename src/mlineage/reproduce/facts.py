"""The facts R(m) is judged on, gathered from an upward lineage walk and an artifact store's ``has``.

No store or network access of its own: it reads the walk's nodes and typed edges, and asks ``has_blob`` (the
artifact store of whoever answers: the local one, or the team server's) whether bytes are retrievable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..model import Artifact, Digest, Run
from .key import CONTEXT_ROLES
from .predicate import STORE, InputFact, Reproducibility, RunFacts, assess


def _label(a: Artifact) -> str:
    if a.name is not None and a.version is not None:
        return f"{a.name}@{a.version}"
    path = a.metadata.get("path") if isinstance(a.metadata, dict) else None
    return str(path) if isinstance(path, str) else a.kind.value


def run_facts(
    run: Run,
    inputs: list[tuple[Artifact, str]],
    has_blob: Callable[[Digest], bool],
    producers: Mapping[str, str] | None = None,
) -> RunFacts:
    """The facts of one run from its input edges (role ``code``/``environment`` are its manifests)."""
    data: list[InputFact] = []
    code = environment = None
    for artifact, role in inputs:
        fact = InputFact(
            str(artifact.digest),
            _label(artifact),
            role or "",
            has_blob(artifact.digest),
            (producers or {}).get(str(artifact.digest)),
        )
        if role == "code" and artifact.kind.value == "code":
            code = fact
        elif role == "environment" and artifact.kind.value == "environment":
            environment = fact
        elif role not in CONTEXT_ROLES:
            data.append(fact)
    git = run.context.get("git") if isinstance(run.context.get("git"), dict) else None
    diff = git.get("diff_sha256") if git else None
    diff_present = None
    if isinstance(diff, str):
        try:
            diff_present = has_blob(Digest.parse(diff))
        except ValueError:
            diff_present = False
    from ..graph.closure import unpinned_image

    image = unpinned_image(run.context)
    for artifact, role in inputs:
        if image is None and role == "environment" and isinstance(artifact.metadata, dict):
            image = unpinned_image(artifact.metadata)
    return RunFacts(
        run.id, run.job, run.context, run.params, tuple(data), code, environment, diff_present, image
    )


def facts_of_walk(
    root_id: int,
    nodes: Mapping[int, Artifact | Run],
    edges: list[tuple[int, int, str, str]],
    has_blob: Callable[[Digest], bool],
) -> tuple[list[RunFacts], list[str], InputFact | None]:
    """(facts of every run of the walk, ids of the runs that produced the root, the root as a source when
    nothing produced it)."""
    inputs: dict[int, list[tuple[Artifact, str]]] = {}
    producers: dict[str, str] = {}
    direct: list[str] = []
    for parent, child, kind, role in edges:
        p, c = nodes.get(parent), nodes.get(child)
        if isinstance(p, Artifact) and isinstance(c, Run) and kind == "USED":
            inputs.setdefault(child, []).append((p, role))
        elif isinstance(p, Run) and isinstance(c, Artifact) and kind == "PRODUCED":
            producers.setdefault(str(c.digest), p.id)
            if child == root_id:
                direct.append(p.id)
    runs = [
        run_facts(n, inputs.get(i, []), has_blob, producers)
        for i, n in sorted(nodes.items())
        if isinstance(n, Run)
    ]
    root = nodes[root_id]
    if isinstance(root, Run):
        direct = [root.id]
    source = None
    if isinstance(root, Artifact) and not direct:
        source = InputFact(str(root.digest), _label(root), "", has_blob(root.digest))
    return runs, sorted(set(direct)), source


def assess_walk(
    root_key: str,
    root_id: int,
    nodes: Mapping[int, Artifact | Run],
    edges: list[tuple[int, int, str, str]],
    has_blob: Callable[[Digest], bool],
    *,
    store: str = STORE,
) -> tuple[Reproducibility, Reproducibility]:
    """R(m) judged for the producing runs only, and recursively over the whole ancestry."""
    runs, direct, source = facts_of_walk(root_id, nodes, edges, has_blob)
    own = [r for r in runs if r.run_id in direct]
    return (
        assess(root_key, own, direct, recursive=False, source=source, store=store),
        assess(root_key, runs, direct, recursive=True, source=source, store=store),
    )
