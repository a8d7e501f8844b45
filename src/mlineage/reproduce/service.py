"""``mlineage reproduce REF``: the entry the Client calls -- one step, answered from the cache (``--reuse``),
or the stale part of the ancestry in dependency order (``--upstream``).

``--upstream`` brings REF's ancestry up to date with the code in the working tree now (HEAD, its uncommitted
changes and untracked sources) and this environment, as ``dvc repro`` does, but driven by the lineage: for
each step, from the sources down, the key it would have now (its inputs replaced by what re-run steps
produced) is compared with the key it recorded; a step that still matches is up to date, a step whose key
another run already has is reused, and only the rest are re-run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..events import NewEvent, new_id, utc_now
from ..model import Artifact, Run
from .ancestry import Ancestry, Step, order_steps, read_ancestry
from .current import CurrentTerms
from .key import CacheKey, recorded_key
from .materialise import ReproduceError, code_manifest, repository_root
from .rerun import ReproduceOptions, ReproduceResult, StepResult, new_workdir, producing_run, rerun_step
from .reuse import lookup, restore

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


def ancestry_runs(client: Client, run: Run) -> list[Step]:
    """The steps ``run`` depends on (itself included) with their inputs, producers before consumers
    (``ancestry.py``). On a SQL store of this process the whole ancestry is read at once; elsewhere (a team
    server, a namespace's view, an ancestry too large to read at once) it is asked run by run (its inputs,
    then each input's producers). Neither loads the lineage graph."""
    store = client.store
    found = _read_sql(store, run)
    if found is not None:
        return found.steps(run)
    return order_steps(run, lambda step: store.io_of_run(step.id)[0], store.producers_of)


def _read_sql(store: Any, run: Run) -> Ancestry | None:
    """``read_ancestry`` through a SQL store's own DB-API connection; None for any other store."""
    engine = getattr(store, "engine", None)
    if engine is None or not hasattr(store, "reachable") or not hasattr(store, "node_records"):
        return None
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            return read_ancestry(cursor, store.dialect == "postgresql", run.id)
        finally:
            cursor.close()


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
    now = CurrentTerms(repo, lambda run: code_manifest(client, run))
    replaced: dict[str, str] = {}
    results: list[StepResult] = []
    work: Path | None = None
    for index, (run, inputs) in enumerate(ancestry_runs(client, target)):
        recorded, key = now.step_keys(run, inputs, replaced)
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
