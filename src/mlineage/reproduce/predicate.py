"""The reproducibility predicate R(m) = [h(D) = h0] · [h(c) = c0] · [h(e) = e0], term by term.

Pure: it judges facts (``RunFacts``, gathered by ``facts.py`` from a lineage walk and the artifact store) and
returns each term with its evidence and, when it fails, a reason that says what to do. Every caller -- the
``reproducible`` and ``closure`` commands, ``show``, the server, a gate -- asks ``predicate``/``assess``, so
there is one answer and one exit code everywhere.

Terms of one run:

* ``data``: every data input has a digest and its bytes are retrievable (or, judged recursively, it is
  regenerable: produced by a run of the ancestry that is itself reproducible);
* ``code``: a commit (or a code manifest) is recorded, and a dirty tree's diff is stored;
* ``environment``: an environment manifest is recorded and stored, and any container image is pinned;
* ``command``: the command line (or a stored ``reproduce`` command) and the parameters are recorded;
* ``determinism`` (advisory, never fails R): seeds and determinism switches, which tell whether a re-run can
  be bit-identical or only equivalent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TERM_NAMES = ("data", "code", "environment", "command", "determinism")
STORE = "the artifact store (local cache or remote)"
SEED_PARAM_WORDS = ("seed", "random_state")
# argv[0] of an interpreter with no script: nothing a re-run could start again
INTERACTIVE_ARGV0 = ("", "-c", "-", "-m")
INTERACTIVE_HINTS = ("ipykernel", "jupyter", "pydevconsole", "ipython")


@dataclass(frozen=True, slots=True)
class Term:
    """One factor of R(m): ``ok``; what was found (``evidence``); why it fails (``reasons``)."""

    name: str
    ok: bool
    evidence: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "term": self.name,
            "ok": self.ok,
            "required": self.required,
            "evidence": list(self.evidence),
            "reasons": list(self.reasons),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Term:
        return cls(
            d["term"],
            bool(d["ok"]),
            tuple(d.get("evidence") or ()),
            tuple(d.get("reasons") or ()),
            bool(d.get("required", True)),
        )


@dataclass(frozen=True, slots=True)
class InputFact:
    """A data input of a run as the predicate needs it."""

    digest: str
    label: str
    role: str = ""
    present: bool = True
    producer: str | None = None  # the run of the ancestry that produced it, when there is one


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What is recorded about one run, and which of the bytes it names are retrievable."""

    run_id: str
    job: str
    context: Mapping[str, Any]
    params: Mapping[str, Any]
    inputs: tuple[InputFact, ...] = ()
    code_manifest: InputFact | None = None
    environment_manifest: InputFact | None = None
    diff_present: bool | None = None  # the dirty diff's blob (None: no diff recorded)
    unpinned_image: str | None = None  # a container image recorded by tag only


@dataclass(frozen=True, slots=True)
class RunVerdict:
    run_id: str
    job: str
    terms: tuple[Term, ...]

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.terms if t.required)

    def term(self, name: str) -> Term:
        return next(t for t in self.terms if t.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "job": self.job,
            "ok": self.ok,
            "terms": [t.to_dict() for t in self.terms],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunVerdict:
        return cls(d["run_id"], d["job"], tuple(Term.from_dict(t) for t in d["terms"]))


@dataclass(frozen=True)
class Reproducibility:
    """R(m) for a node: the verdicts of the runs that produced it (``direct``) and, judged recursively, of
    every run of its ancestry. A source artifact with no producing run is reproducible when its bytes are
    stored (``source``)."""

    root: str
    recursive: bool
    runs: tuple[RunVerdict, ...]
    direct: tuple[str, ...]
    source: Term | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def judged(self) -> tuple[RunVerdict, ...]:
        return self.runs if self.recursive else tuple(r for r in self.runs if r.run_id in self.direct)

    @property
    def reproducible(self) -> bool:
        if self.source is not None and not self.source.ok:
            return False
        return all(r.ok for r in self.judged)

    def reasons(self) -> list[str]:
        """Every failing required term, one line each: ``<term> for run <id> (<job>): <reason>``."""
        out = list(self.source.reasons) if self.source is not None and not self.source.ok else []
        for verdict in self.judged:
            for term in verdict.terms:
                if term.required and not term.ok:
                    out.extend(
                        f"{term.name} for run {verdict.run_id[:12]} ({verdict.job}): {reason}"
                        for reason in term.reasons
                    )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "recursive": self.recursive,
            "reproducible": self.reproducible,
            "reasons": self.reasons(),
            "direct": list(self.direct),
            "source": self.source.to_dict() if self.source is not None else None,
            "runs": [r.to_dict() for r in self.judged],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Reproducibility:
        return cls(
            d["root"],
            bool(d["recursive"]),
            tuple(RunVerdict.from_dict(r) for r in d["runs"]),
            tuple(d["direct"]),
            Term.from_dict(d["source"]) if d.get("source") else None,
            tuple(d.get("notes") or ()),
        )


# ---------------------------------------------------------------- the terms


def data_term(facts: RunFacts, regenerable: frozenset[str] = frozenset(), store: str = STORE) -> Term:
    """Every data input's bytes are retrievable, or (``regenerable``: ids of reproducible producing runs)
    can be produced again."""
    if not facts.inputs:
        return Term("data", True, ("no data inputs recorded (the run read nothing it declared)",))
    evidence, reasons = [], []
    for item in facts.inputs:
        short = _short(item.digest)
        if item.present:
            evidence.append(f"{item.label} {short}: stored")
        elif item.producer is not None and item.producer in regenerable:
            evidence.append(f"{item.label} {short}: not stored, regenerable by run {item.producer[:12]}")
        else:
            reasons.append(
                f"input {short} ({item.label}) is not in {store}"
                + (
                    f"; it was produced by run {item.producer[:12]}: reproduce that first "
                    "(--recursive judges it)"
                    if item.producer
                    else "; push it from a machine that has it (`mlineage push`)"
                )
            )
    return Term("data", not reasons, tuple(evidence), tuple(reasons))


def code_term(facts: RunFacts, store: str = STORE) -> Term:
    git = facts.context.get("git") if isinstance(facts.context.get("git"), Mapping) else None
    evidence, reasons = [], []
    commit = str(git["commit"]) if git and git.get("commit") else None
    if commit:
        branch = f" on {git['branch']}" if git and git.get("branch") else ""
        evidence.append(f"git commit {commit[:12]}{branch}")
        if git and git.get("remote"):
            evidence.append(f"remote {git['remote']}")
        diff = git.get("diff_sha256") if git else None
        if diff:
            if facts.diff_present:
                evidence.append(f"uncommitted diff {_short(str(diff))}: stored")
            else:
                reasons.append(
                    f"the working tree was dirty at {commit[:12]} and the diff {_short(str(diff))} "
                    f"is recorded by digest only (its bytes are not in {store}): commit before "
                    "running, or run with this version of mlineage, which stores the diff"
                )
        elif git and git.get("dirty") and git.get("changed_files"):
            reasons.append(
                f"the working tree was dirty at {commit[:12]} and the uncommitted diff was not "
                "recorded: commit before running"
            )
    if facts.code_manifest is not None:
        if facts.code_manifest.present:
            evidence.append(f"code manifest {_short(facts.code_manifest.digest)}: stored")
        else:
            reasons.append(f"code manifest {_short(facts.code_manifest.digest)} is not in {store}")
    if not commit and facts.code_manifest is None:
        reasons.append(
            "no git commit and no code manifest recorded: run inside a git repository, or pass "
            "source_files= to mlineage.run"
        )
    return Term("code", not reasons, tuple(evidence), tuple(reasons))


def environment_term(facts: RunFacts, store: str = STORE) -> Term:
    ctx = facts.context
    evidence, reasons = [], []
    python = ctx.get("python")
    if isinstance(python, Mapping) and python.get("version"):
        evidence.append(f"python {python['version']}")
    environment = ctx.get("environment")
    if isinstance(environment, Mapping) and environment.get("packages_digest"):
        evidence.append(f"packages {_short(str(environment['packages_digest']))}")
    if facts.environment_manifest is not None:
        if facts.environment_manifest.present:
            evidence.append(f"environment manifest {_short(facts.environment_manifest.digest)}: stored")
        else:
            reasons.append(
                f"environment manifest {_short(facts.environment_manifest.digest)} is not in "
                f"{store}: the package list cannot be compared"
            )
    elif not (isinstance(environment, Mapping) and environment.get("packages_digest")):
        reasons.append(
            "no package manifest recorded (only the interpreter is known): run with full capture "
            "(MLINEAGE_CAPTURE=full)"
        )
    if facts.unpinned_image is not None:
        reasons.append(
            f"container image {facts.unpinned_image} is not pinned: recorded by tag, with no "
            "digest (set MLINEAGE_IMAGE_DIGEST, or name the image as image@sha256:...)"
        )
    return Term("environment", not reasons, tuple(evidence), tuple(reasons))


def command_of(context: Mapping[str, Any]) -> list[str] | None:
    """The command a re-run starts: a stored ``reproduce`` command, else the recorded argv of a script;
    None when there is none (an interactive session)."""
    stored = context.get("reproduce")
    if isinstance(stored, Mapping) and isinstance(stored.get("command"), list) and stored["command"]:
        return [str(a) for a in stored["command"]]
    argv = context.get("argv")
    if not isinstance(argv, list) or not argv:
        return None
    first = str(argv[0])
    if first in INTERACTIVE_ARGV0 or any(h in first.lower() for h in INTERACTIVE_HINTS):
        return None
    return [str(a) for a in argv]


def command_term(facts: RunFacts) -> Term:
    command = command_of(facts.context)
    evidence = [f"{len(facts.params)} parameter(s) recorded"]
    if command is None:
        return Term(
            "command",
            False,
            tuple(evidence),
            (
                (
                    "no command to re-run: the run was started interactively (record one with "
                    "mlineage.run(..., reproduce=[...]) or run it as a script)"
                ),
            ),
        )
    evidence.insert(0, "command: " + " ".join(command))
    if isinstance(facts.context.get("cwd"), str):
        evidence.append(f"started in {facts.context['cwd']}")
    return Term("command", True, tuple(evidence))


def determinism_term(facts: RunFacts) -> Term:
    flags = facts.context.get("determinism")
    evidence: list[str] = []
    seeds = {k: v for k, v in facts.params.items() if any(w in k.lower() for w in SEED_PARAM_WORDS)}
    evidence.extend(f"seed param {k}={v}" for k, v in sorted(seeds.items()))
    if isinstance(flags, Mapping):
        for name, value in sorted((flags.get("env") or {}).items()):
            evidence.append(f"{name}={value}")
        for name, value in sorted((flags.get("torch") or {}).items()):
            evidence.append(f"torch {name}={value}")
    if not isinstance(flags, Mapping):
        return Term(
            "determinism",
            False,
            tuple(evidence),
            ("determinism switches were not captured (recorded by an older mlineage)",),
            required=False,
        )
    if not seeds:
        return Term(
            "determinism",
            False,
            tuple(evidence),
            ("no seed among the parameters: a re-run may be equivalent, not identical",),
            required=False,
        )
    return Term("determinism", True, tuple(evidence), required=False)


def predicate(
    facts: RunFacts, *, regenerable: frozenset[str] = frozenset(), store: str = STORE
) -> RunVerdict:
    """R for one run: its five terms (the four required ones decide)."""
    return RunVerdict(
        facts.run_id,
        facts.job,
        (
            data_term(facts, regenerable, store),
            code_term(facts, store),
            environment_term(facts, store),
            command_term(facts),
            determinism_term(facts),
        ),
    )


def assess(
    root: str,
    runs: Sequence[RunFacts],
    direct: Sequence[str],
    *,
    recursive: bool = True,
    source: InputFact | None = None,
    store: str = STORE,
) -> Reproducibility:
    """R(m) over an ancestry. ``runs`` in any order; a run's missing input is regenerable when its producer
    is itself reproducible (judged from the sources down, so a chain of regenerable steps counts)."""
    by_id = {r.run_id: r for r in runs}
    verdicts: dict[str, RunVerdict] = {}
    regenerable: set[str] = set()

    def judge(run_id: str, trail: frozenset[str]) -> RunVerdict:
        found = verdicts.get(run_id)
        if found is not None:
            return found
        facts = by_id[run_id]
        for item in facts.inputs:  # producers first, so their verdict is known
            if not item.present and item.producer in by_id and item.producer not in trail:
                judge(item.producer, trail | {run_id})
        verdict = verdicts[run_id] = predicate(
            facts, regenerable=frozenset(regenerable) if recursive else frozenset(), store=store
        )
        if verdict.ok:
            regenerable.add(run_id)
        return verdict

    for facts in runs:
        judge(facts.run_id, frozenset())
    source_term = None
    if source is not None:
        source_term = (
            Term(
                "data",
                True,
                (f"{source.label} {_short(source.digest)}: stored (a source: no producing run)",),
            )
            if source.present
            else Term(
                "data",
                False,
                (),
                (f"{source.label} {_short(source.digest)} has no producing run and is not in {store}",),
            )
        )
    ordered = [verdicts[r] for r in direct if r in verdicts]
    ordered += [verdicts[r.run_id] for r in runs if r.run_id not in direct]
    return Reproducibility(root, recursive, tuple(ordered), tuple(direct), source_term)


def _short(digest: str) -> str:
    return digest[:19] + "…" if digest.startswith("sha256:") and len(digest) > 19 else digest
