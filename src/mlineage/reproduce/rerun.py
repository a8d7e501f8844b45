"""Re-run one recorded step and judge the result: ``mlineage reproduce REF``.

The step's code is checked out and its inputs placed in a work folder (``materialise.py``); the recorded
command starts there as a subprocess that records into the same store (its own tracked run, marked with the
original's id through ``MLINEAGE_REPRODUCES``); then each output is compared with the recorded one
(``compare.py``) and the verdict is appended as a ``ReproductionVerdict`` naming both runs, which draws the
``REPRODUCES`` edge. The new run also gets its cache key (``RunKeyed``), so a later reuse can hit it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..events import NewEvent
from ..model import Artifact, Run
from .compare import OutputComparison, compare_files, overall
from .materialise import (
    CodeState,
    ReproduceError,
    checkout,
    environment_differences,
    place_inputs,
    recorded_code,
    repository_root,
)
from .predicate import command_of
from .records import REPRODUCTION_VERDICT
from .results import ReproduceOptions, ReproduceResult, StepResult

__all__ = ["ReproduceOptions", "ReproduceResult", "StepResult", "producing_run", "rerun_step"]

if TYPE_CHECKING:
    from ..sdk.client import Client

REPRODUCES_VAR = "MLINEAGE_REPRODUCES"
TAIL = 2000


def producing_run(client: Client, node: Artifact | Run) -> Run:
    if isinstance(node, Run):
        return node
    producers = client.store.producers_of(str(node.digest))
    if not producers:
        raise ReproduceError(
            f"{node.digest.short} has no producing run: a source artifact is reproduced by "
            "fetching it (`mlineage get`)"
        )
    return producers[-1]


def new_workdir(options: ReproduceOptions) -> Path:
    if options.workdir is not None:
        options.workdir.mkdir(parents=True, exist_ok=True)
        if any(options.workdir.iterdir()):
            from ..errors import ValidationError

            raise ValidationError("workdir", f"{options.workdir} is not empty", "pass an empty or new folder")
        return options.workdir
    return Path(tempfile.mkdtemp(prefix="mlineage-reproduce-"))


def rerun_step(
    client: Client,
    run: Run,
    options: ReproduceOptions,
    *,
    code: CodeState | None = None,
    replaced: Mapping[str, str] | None = None,
    workdir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> StepResult:
    """Re-run one recorded run (see the module docstring) and record the verdict."""
    say = progress or (lambda _m: None)
    repo = options.repo or repository_root(Path.cwd())
    inputs, outputs = client.store.io_of_run(run.id)
    command = command_of(run.context)
    if command is None:
        raise ReproduceError(
            f"run {run.id[:12]} ({run.job}) has no command to re-run: it was started "
            "interactively (store one with mlineage.run(..., reproduce=[...]))"
        )
    differences = environment_differences(client, inputs, run)
    if differences and options.strict:
        raise ReproduceError(
            "environment differs: "
            + "; ".join(differences[:5])
            + (f" (and {len(differences) - 5} more)" if len(differences) > 5 else "")
            + " (--strict refuses any difference)"
        )
    work = workdir or new_workdir(options)
    tree = work / "tree"
    code = code or recorded_code(client, run)
    say(f"checking out {code.commit[:12]} ({code.label} code) into {tree}")
    checkout(client, repo, code, tree)
    start = tree / str(run.context.get("cwd") or ".")
    start.mkdir(parents=True, exist_ok=True)
    say(f"placing {sum(1 for _, r in inputs if r not in ('code', 'environment'))} input(s)")
    place_inputs(client, inputs, start, replaced)
    argv = _command_in(command, repo, tree, stored=isinstance(run.context.get("reproduce"), Mapping))
    before = {r.id for r in client.store.list_runs(limit=200, job=run.job)}
    env = _child_env(client, run)
    say("running " + " ".join(argv))
    done = subprocess.run(argv, cwd=start, env=env, capture_output=True, text=True, check=False)
    new = _new_run(client, run, before)
    if new is None:
        raise ReproduceError(
            f"the re-run ({' '.join(argv)}) exited {done.returncode} without recording a run "
            f"of {run.job!r}: {(done.stderr or done.stdout)[-TAIL:].strip()}"
        )
    result = StepResult(run, "failed", new.id, environment=differences, workdir=str(work))
    if done.returncode != 0 or new.status.value != "completed":
        result.message = f"the re-run exited {done.returncode}: {(done.stderr or '')[-TAIL:].strip()}"
    else:
        _, new_outputs = client.store.io_of_run(new.id)
        result.outputs = compare_outputs(client, outputs, new_outputs, start, work, inputs, options)
        result.verdict = overall(result.outputs)
        result.replaced = {c.original: c.reproduced for c in result.outputs if c.original and c.reproduced}
    record_verdict(client, result, options, keyed=done.returncode == 0)
    return result


def _command_in(command: list[str], repo: Path, tree: Path, *, stored: bool) -> list[str]:
    """The recorded command, pointed at the clone: a script path inside the repository is mapped into it,
    and a recorded argv (a Python script's) runs under this interpreter."""
    mapped = []
    for arg in command:
        if os.path.isabs(arg):
            try:
                arg = str(tree / Path(arg).resolve().relative_to(repo.resolve()))
            except ValueError:
                pass
        mapped.append(arg)
    return mapped if stored else [sys.executable, *mapped]


def _child_env(client: Client, run: Run) -> dict[str, str]:
    env = dict(os.environ)
    env[REPRODUCES_VAR] = run.id
    env["MLINEAGE_CAPTURE"] = "full"  # the re-run is recorded whole, so it is reproducible in turn
    env["MLINEAGE_URI"] = client.settings.store_uri
    if not client.settings.store_uri.startswith(("http://", "https://")):
        env["MLINEAGE_ARTIFACTS"] = str(client.settings.artifacts_uri)
    flags = run.context.get("determinism")
    recorded_env = flags.get("env") if isinstance(flags, Mapping) else None
    for name, value in (recorded_env or {}).items():  # the switches the run executed under
        env.setdefault(name, str(value))
    return env


def _new_run(client: Client, run: Run, before: set[str]) -> Run | None:
    flush = getattr(client.store, "flush", None)
    if flush is not None:
        flush(quiet=True)
    for candidate in client.store.list_runs(limit=200, job=run.job):
        if candidate.id not in before and candidate.context.get("reproduces") == run.id:
            return candidate
    return None


def _name(a: Artifact) -> str:
    path = a.metadata.get("path") if isinstance(a.metadata, dict) else None
    return str(path) if path else (a.name or str(a.digest)[:19])


def match_outputs(
    recorded: list[tuple[Artifact, str]], new: list[tuple[Artifact, str]]
) -> list[tuple[Artifact, Artifact | None]]:
    """Pair each recorded output with the re-run's: by recorded path, then by role, then in order."""
    left = list(new)
    pairs: list[tuple[Artifact, Artifact | None]] = []
    for artifact, role in recorded:
        found = (
            next((x for x in left if _name(x[0]) == _name(artifact)), None)
            or next((x for x in left if role and x[1] == role), None)
            or (left[0] if left and len(recorded) == len(new) else None)
        )
        if found is not None:
            left.remove(found)
        pairs.append((artifact, found[0] if found else None))
    return pairs


def compare_outputs(
    client: Client,
    recorded: list[tuple[Artifact, str]],
    new: list[tuple[Artifact, str]],
    start: Path,
    work: Path,
    inputs: list[tuple[Artifact, str]],
    options: ReproduceOptions,
) -> list[OutputComparison]:
    from .reuse import restore

    validation = next(
        (
            start / str(a.metadata.get("path"))
            for a, role in inputs
            if role == "validation" and isinstance(a.metadata, dict) and a.metadata.get("path")
        ),
        None,
    )
    results = []
    for original, reproduced in match_outputs(recorded, new):
        name = _name(original)
        if reproduced is None:
            results.append(
                OutputComparison(
                    name, "missing", str(original.digest), differences=["the re-run did not produce it"]
                )
            )
            continue
        if original.digest == reproduced.digest:
            results.append(OutputComparison(name, "identical", str(original.digest), str(reproduced.digest)))
            continue
        a = work / "recorded" / Path(name).name
        b = work / "reproduced" / Path(name).name
        restore(client, {"digest": str(original.digest), "media_type": original.media_type}, a)
        restore(client, {"digest": str(reproduced.digest), "media_type": reproduced.media_type}, b)
        found = compare_files(name, a, b, rtol=options.rtol, atol=options.atol, validation=validation)
        found.original, found.reproduced = str(original.digest), str(reproduced.digest)
        results.append(found)
    return results


def record_verdict(client: Client, result: StepResult, options: ReproduceOptions, *, keyed: bool) -> None:
    """Append the verdict (and the re-run's cache key) and move the project's checkpoint."""
    assert result.run_id is not None
    events = [
        NewEvent(
            REPRODUCTION_VERDICT,
            {
                "run_id": result.run_id,
                "original_run_id": result.original.id,
                "verdict": "failed" if result.verdict == "missing" else result.verdict,
                "rtol": options.rtol,
                "outputs": [o.to_dict() for o in result.outputs],
                "environment": [{"difference": d} for d in result.environment],
                **({"message": result.message} if result.message else {}),
            },
        )
    ]
    client.append(events)
    new = client.store.get_run(result.run_id)
    if keyed and new is not None:
        from ..errors import ValidationError
        from .key import recorded_key
        from .reuse import key_event

        new_inputs, new_outputs = client.store.io_of_run(new.id)
        key = recorded_key(new, new_inputs)
        if key is not None:
            try:  # a re-run that was itself a reusable step has recorded its key already
                client.append([key_event(new.id, key, new_outputs)])
                result.key = key.key
            except ValidationError:
                result.key = key.key
    client.write_checkpoint()
