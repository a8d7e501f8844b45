"""``mlineage reproduce REF``: the entry the Client calls -- one step, answered from the cache (``--reuse``),
or the stale part of the ancestry in dependency order (``--upstream``).

``--upstream`` brings REF's ancestry up to date with the code in the working tree now (HEAD, its uncommitted
changes and untracked sources) and this environment, as ``dvc repro`` does, but driven by the lineage: for
each step, from the sources down, the key it would have now (its inputs replaced by what re-run steps
produced) is compared with the key it recorded; a step that still matches is up to date, a step whose key
another run already has is reused, and only the rest are re-run.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..events import NewEvent, new_id, utc_now
from ..model import Artifact, Run
from .key import CONTEXT_ROLES, CacheKey, code_term, environment_term, make_key
from .materialise import CodeState, ReproduceError, code_manifest, current_code, repository_root
from .rerun import ReproduceOptions, ReproduceResult, StepResult, new_workdir, producing_run, rerun_step
from .reuse import data_inputs, lookup, recorded_key, restore

if TYPE_CHECKING:
    from ..sdk.client import Client

Progress = Callable[[str], None]


def reproduce(
    client: Client, ref: str | Artifact | Run, options: ReproduceOptions, progress: Progress | None = None
) -> ReproduceResult:
    node = client.resolve(ref) if isinstance(ref, str) else ref
    run = producing_run(client, node)
    root = str(node.digest) if isinstance(node, Artifact) else f"run:{node.id}"
    if options.upstream:
        watched: set[str] = set()
        steps = upstream(client, run, options, progress, watched)
        return ReproduceResult(root, steps, options.repo, sorted(watched))
    report = client.reproducible(run)
    if not report.reproducible:
        raise ReproduceError(
            f"run {run.id[:12]} ({run.job}) is not reproducible: " + "; ".join(report.reasons())
        )
    if options.reuse:
        key = recorded_key(run, client.store.io_of_run(run.id)[0])
        if key is not None:
            found = reuse_step(client, run, key, options, progress)
            if found is not None:
                return ReproduceResult(root, [found])
    return ReproduceResult(root, [rerun_step(client, run, options, progress=progress)])


def reuse_step(
    client: Client,
    run: Run,
    key: CacheKey,
    options: ReproduceOptions,
    progress: Progress | None = None,
    work: Path | None = None,
) -> StepResult | None:
    """Answer a step from the cache: restore the hit's outputs (verified) into the work folder and record a
    reused run pointing at it; None on a miss (or a hit whose outputs fail their digest check)."""
    from ..errors import IntegrityError, NotFoundError

    found = lookup(client, key)
    if found.hit is None:
        return None
    work = work or new_workdir(options)
    try:
        for output in found.outputs:
            restore(
                client, output, work / "outputs" / Path(str(output.get("path") or output["digest"][7:19]))
            )
    except (IntegrityError, NotFoundError) as exc:
        if progress:
            progress(f"cache hit {found.hit[:12]} is unusable: {exc}")
        return None
    if progress:
        progress(f"reusing run {found.hit[:12]} (key {key.key[:19]}…)")
    new_id_ = record_reused(client, run, found.hit, key, found.outputs)
    result = StepResult(run, "reused", new_id_, workdir=str(work), key=key.key, explain=found.explain())
    result.replaced = _mapping(client, run, found.outputs)
    return result


def record_reused(client: Client, run: Run, hit: str, key: CacheKey, outputs: list[dict[str, Any]]) -> str:
    """A run recorded as reused: same job, params and inputs as ``run``, the hit's outputs, a REUSES edge."""
    from .. import events as ev
    from ..capture.basic import actor
    from .records import RUN_REUSED

    run_id = new_id()
    inputs, _ = client.store.io_of_run(run.id)
    context = {k: v for k, v in run.context.items() if k not in ("pid", "reproduces")}
    context["reused_from"] = hit
    events = [
        NewEvent(
            ev.RUN_STARTED,
            {
                "run_id": run_id,
                "job": run.job,
                "kind": run.kind.value,
                "params": run.params,
                "context": context,
                "agent": actor(),
                "started_at": utc_now(),
            },
        )
    ]
    events += [
        NewEvent(ev.ARTIFACT_USED, {"run_id": run_id, "digest": str(a.digest), **({"role": r} if r else {})})
        for a, r in inputs
    ]
    events += [
        NewEvent(
            ev.ARTIFACT_PRODUCED,
            {"run_id": run_id, "digest": o["digest"], **({"role": o["role"]} if o.get("role") else {})},
        )
        for o in outputs
    ]
    events.append(NewEvent(RUN_REUSED, {"run_id": run_id, "original_run_id": hit, "key": key.key}))
    events.append(NewEvent(ev.RUN_ENDED, {"run_id": run_id, "status": "completed", "ended_at": utc_now()}))
    client.append(events)
    client.write_checkpoint()
    return run_id


def _mapping(client: Client, run: Run, outputs: list[dict[str, Any]]) -> dict[str, str]:
    """Recorded output digest → the digest that stands for it now (matched by recorded path, then order)."""
    _, recorded = client.store.io_of_run(run.id)
    by_path = {o.get("path"): o["digest"] for o in outputs}
    out = {}
    for i, (artifact, _role) in enumerate(recorded):
        path = artifact.metadata.get("path") if isinstance(artifact.metadata, dict) else None
        digest = by_path.get(path) or (outputs[i]["digest"] if len(outputs) == len(recorded) else None)
        if digest:
            out[str(artifact.digest)] = digest
    return out


# ---------------------------------------------------------------- --upstream


def ancestry_runs(client: Client, run: Run) -> list[tuple[Run, list[tuple[Artifact, str]]]]:
    """The steps ``run`` depends on (itself included) with their inputs, producers before consumers. Each
    data input is followed to the latest run that produced its content (a re-run or a reused step stands for
    the content now). On a SQL store the whole ancestry is read in a handful of queries (``_walk_sql``);
    elsewhere (a team server, a namespace's view) it is asked run by run (its inputs, then each input's
    producers). Neither loads the lineage graph."""
    store = client.store
    found = _walk_sql(store, run)
    if found is not None:
        inputs_of, producers_of = found
    else:
        inputs_of = lambda step: store.io_of_run(step.id)[0]
        producers_of = store.producers_of
    order: list[tuple[Run, list[tuple[Artifact, str]]]] = []
    done: set[str] = set()

    def visit(step: Run, trail: frozenset[str]) -> None:
        if step.id in done or step.id in trail:
            return
        inputs = inputs_of(step)
        for artifact, role in inputs:
            if (role or "") in CONTEXT_ROLES:
                continue
            producers = [p for p in producers_of(str(artifact.digest)) if p.id != step.id]
            if producers:
                visit(producers[-1], trail | {step.id})
        done.add(step.id)
        order.append((step, inputs))

    visit(run, frozenset())
    return order


_WALK_MAX_NODES = 20_000  # past this, the run-by-run walk (bounded queries) rather than one large IN list


def _walk_sql(
    store: Any, run: Run
) -> tuple[Callable[[Run], list[tuple[Artifact, str]]], Callable[[str], list[Run]]] | None:
    """(inputs of a run, producers of a digest) over ``run``'s whole ancestry, read at once: one recursive
    query for the ancestor nodes, one for their USED and PRODUCED edges in recorded order, one for their
    records. The answers are those of ``io_of_run`` and ``producers_of`` for every run and digest the walk
    can reach. None when the store is not a SQL store of this process."""
    engine = getattr(store, "engine", None)
    if engine is None or not hasattr(store, "reachable") or not hasattr(store, "node_records"):
        return None
    from sqlalchemy import bindparam, text

    with engine.connect() as conn:
        node = conn.execute(text("SELECT node_id FROM runs WHERE id = :r"), {"r": run.id}).scalar()
    if node is None:
        return None
    ids = store.reachable(int(node), "up", cap=_WALK_MAX_NODES + 1)
    if len(ids) > _WALK_MAX_NODES:
        return None
    statement = text(
        "SELECT e.parent, e.child, e.type, e.role FROM edges e WHERE e.child IN :ids "
        "AND e.type IN ('USED', 'PRODUCED') ORDER BY e.created_seq, e.parent, e.child"
    ).bindparams(bindparam("ids", expanding=True))
    seq_of = text("SELECT node_id, created_seq FROM runs WHERE node_id IN :ids").bindparams(
        bindparam("ids", expanding=True))
    with engine.connect() as conn:
        linked = conn.execute(statement, {"ids": ids}).all()
        started = {int(r[0]): int(r[1]) for r in conn.execute(seq_of, {"ids": ids})}
    records = store.node_records(sorted({int(r[0]) for r in linked} | {int(r[1]) for r in linked}))
    inputs: dict[str, list[tuple[Artifact, str]]] = {}
    producers: dict[str, dict[str, tuple[int, Run]]] = {}
    for parent, child, kind, role in linked:
        p, c = records.get(int(parent)), records.get(int(child))
        if kind == "USED" and isinstance(p, Artifact) and isinstance(c, Run):
            inputs.setdefault(c.id, []).append((p, role))
        elif kind == "PRODUCED" and isinstance(p, Run) and isinstance(c, Artifact):
            producers.setdefault(str(c.digest), {})[p.id] = (started.get(int(parent), 0), p)

    def inputs_of(step: Run) -> list[tuple[Artifact, str]]:
        return inputs.get(step.id, [])

    def producers_of(digest: str) -> list[Run]:
        return [r for _, r in sorted(producers.get(digest, {}).values(), key=lambda x: x[0])]

    return inputs_of, producers_of


class _Now:
    """The code and environment terms of the working tree and interpreter now (each computed once)."""

    def __init__(self, client: Client, repo: Path) -> None:
        self.client, self.repo = client, repo
        self._code: CodeState | None = None
        self._commit_term: str | None = None
        self.watched: set[str] = set()  # the declared source files the answer depends on
        from ..capture.environment import packages

        self.environment = environment_term(platform.python_version(), packages()[1])

    @property
    def code(self) -> CodeState:
        if self._code is None:
            self._code = current_code(self.repo)
        return self._code

    def code_term(self, run: Run) -> str:
        manifest = code_manifest(self.client, run) or {}
        if manifest.get("files"):  # the step declared its code: hash those files as they are now
            from ..capture.code import file_digest

            def now(rel: str) -> dict[str, Any]:
                found = file_digest(self.repo / rel)
                return {"path": rel, "digest": found[0] if found else None}

            entry = manifest.get("entry")
            doc: dict[str, Any] = {"files": [now(f["path"]) for f in manifest["files"]]}
            if entry:
                doc["entry"] = now(entry["path"])
            self.watched.update(
                f["path"] for f in doc["files"] + [doc.get("entry") or {"path": None}] if f["path"]
            )
            return code_term(doc)
        if self._commit_term is None:
            import hashlib

            code = self.code
            self._commit_term = code_term(
                {
                    "git": {
                        "commit": code.commit,
                        "diff_sha256": "sha256:" + hashlib.sha256(code.diff).hexdigest()
                        if code.diff
                        else None,
                        "untracked": [{"path": p, "digest": d} for p, d in code.untracked.items()],
                    }
                }
            )
        return self._commit_term


def upstream(
    client: Client,
    target: Run,
    options: ReproduceOptions,
    progress: Progress | None = None,
    watched: set[str] | None = None,
) -> list[StepResult]:
    say = progress or (lambda _m: None)
    repo = options.repo or repository_root(Path.cwd())
    options.repo = repo
    now = _Now(client, repo)
    replaced: dict[str, str] = {}
    results: list[StepResult] = []
    work: Path | None = None
    for index, (run, inputs) in enumerate(ancestry_runs(client, target)):
        recorded = recorded_key(run, inputs)
        mapped = [(role, replaced.get(digest, digest)) for role, digest in data_inputs(inputs)]
        key = make_key(run.job, now.code_term(run), now.environment, run.params, mapped)
        if recorded is not None and recorded.key == key.key:
            results.append(StepResult(run, "up-to-date", run.id, key=key.key))
            continue
        explain = _explain(recorded, key)
        work = work or new_workdir(options)
        reused = reuse_step(client, run, key, options, progress, work / f"step-{index}")
        if reused is not None:
            reused.explain = f"stale ({explain}); {reused.explain}"
            replaced.update(reused.replaced)
            results.append(reused)
            continue
        say(f"{run.job}: stale ({explain}): re-running")
        step = rerun_step(
            client,
            run,
            options,
            code=now.code,
            replaced=replaced,
            workdir=work / f"step-{index}",
            progress=progress,
        )
        step.explain = f"stale ({explain})"
        step.stale = True
        replaced.update(step.replaced)
        results.append(step)
    if watched is not None:
        watched.update(now.watched)
    return results


def _explain(recorded: CacheKey | None, key: CacheKey) -> str:
    from .key import differing

    if recorded is None:
        return "its code or environment was not captured"
    return "changed: " + ", ".join(differing(key.terms, recorded.terms))
