"""Running a policy: which gates apply to which artifacts, each gate's checks, owners and actions, and the
``GateEvaluated`` events that record every verdict.

The gate modules are pure; this is where they meet the Client (records, blobs, lineage, facts). A policy with
no gates, a ref no gate applies to, an entry that matched no artifact and a gate that ran zero checks all
fail: a check that checked nothing must not pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import MlineageError, ValidationError
from ..events import NewEvent
from ..model import Artifact
from .model import Check, CheckReport, GateResult, worst
from .policy import GateSpec, Policy

if TYPE_CHECKING:
    import pyarrow as pa

    from ..sdk.client import Client
    from .facts import GateFacts

Clock = Callable[[], datetime]


def utc_clock() -> datetime:
    return datetime.now(UTC)


class GateContext:
    """What the gates of one run share: the client, its facts, a clock, and tables read once per artifact."""

    def __init__(self, client: Client, policy: Policy, clock: Clock = utc_clock) -> None:
        self.client = client
        self.policy = policy
        self.clock = clock
        self.facts: GateFacts = client.gate_facts()
        self._tables: dict[str, pa.Table] = {}

    def table(self, artifact: Artifact) -> pa.Table:
        from .tables import format_of, read_table, require_pyarrow

        require_pyarrow()
        key = str(artifact.digest)
        if key not in self._tables:
            fmt = format_of(artifact)
            if fmt is None or artifact.media_type == "application/vnd.mlineage.manifest+json":
                raise ValidationError(
                    "data",
                    f"{artifact.label} is not a table (CSV, TSV, Parquet, JSON lines "
                    "or text by its file name)",
                )
            with self.client.blobs.open(artifact.digest) as stream:
                self._tables[key] = read_table(stream, fmt)
        return self._tables[key]


# ---------------------------------------------------------------- one gate per function


def gate_schema(ctx: GateContext, spec: GateSpec, artifact: Artifact) -> list[Check]:
    from .schema_contract import check_schema

    return check_schema(
        ctx.table(artifact), spec.params.get("columns") or {}, spec.params.get("allow_extra_columns", True)
    )


def gate_pins(ctx: GateContext, spec: GateSpec, artifact: Artifact) -> list[Check]:
    from .pins import check_pins

    rows = None
    if any(k in spec.params for k in ("rows", "min_rows", "max_rows")):
        rows = ctx.table(artifact).num_rows
    return check_pins(spec.params, str(artifact.digest), rows)


def gate_freshness(ctx: GateContext, spec: GateSpec, artifact: Artifact) -> list[Check]:
    from .freshness import check_freshness, max_loaded_at, parse_time

    column = spec.params.get("loaded_at")
    if column:
        table = ctx.table(artifact)
        if column not in table.column_names:
            return [Check("freshness", "error", f"column {column!r} is missing", {"status": "error"})]
        newest = max_loaded_at(table.column(column))
        source = f"column {column}"
    else:
        newest = parse_time(artifact.created_at) if artifact.created_at else None
        source = "recorded time"
    return check_freshness(newest, ctx.clock(), spec.params, source)


def gate_privacy(ctx: GateContext, spec: GateSpec, artifact: Artifact) -> list[Check]:
    from .pii import DEFAULT_KINDS, Scanner, privacy_checks, scan_table

    p = spec.params
    scanner = Scanner(
        p.get("kinds", DEFAULT_KINDS), p.get("phone_regions", ("US",)), p.get("national_ids", ())
    )
    findings, scanned, rows = scan_table(
        ctx.table(artifact),
        scanner,
        allow_columns=p.get("allow_columns", ()),
        sample_rows=p.get("sample_rows"),
    )
    return privacy_checks(findings, scanned, rows, p.get("max_findings", 0))


def licence_checks(report: Any, params: dict[str, Any]) -> list[Check]:
    """The licence gate's checks from an artifact's ``LicenceReport``."""
    from .licences import use_allowed

    intended = params.get("intended_use", "commercial")
    eff = report.effective
    checks = []
    blockers = [o for o in report.obligations if not use_allowed(o.conditions.use, intended)]
    if blockers:
        why = "; ".join(
            f"{o.label} ({o.licence}: {o.conditions.use}) via {' -> '.join(o.path)}" for o in blockers[:5]
        )
        checks.append(
            Check(
                "intended use",
                "fail",
                f"{intended} use is not allowed: {why}",
                {
                    "intended_use": intended,
                    "effective_use": eff.use,
                    "blocking": len(blockers),
                    "paths": [list(o.path) for o in blockers[:5]],
                },
            )
        )
    else:
        checks.append(
            Check(
                "intended use",
                "pass",
                f"{intended} use is allowed by every licence upstream "
                f"({len(report.obligations)} licensed ancestor(s))",
                {"intended_use": intended, "effective_use": eff.use},
            )
        )
    share = report.bringing("share_alike")
    attribution = report.bringing("attribution")
    sa_rule = params.get("share_alike", "warn")
    if share and sa_rule != "allow":
        checks.append(
            Check(
                "share-alike",
                "fail" if sa_rule == "forbid" else "warn",
                f"share-alike from {', '.join(o.label for o in share[:5])}",
                {"from": [o.label for o in share]},
            )
        )
    else:
        checks.append(
            Check(
                "share-alike",
                "pass",
                "no share-alike obligation"
                if not share
                else f"share-alike from {len(share)} ancestor(s) (allowed)",
                {"from": [o.label for o in share]},
            )
        )
    checks.append(
        Check(
            "attribution",
            "pass",
            f"attribution owed to {len(attribution)} ancestor(s)"
            + (f": {', '.join(o.label for o in attribution[:5])}" if attribution else ""),
            {"owed_to": [o.label for o in attribution]},
        )
    )
    rule = params.get("unlicensed", "warn")
    if report.unlicensed_count and rule != "allow":
        names = ", ".join(o.label for o in report.unlicensed[:5])
        checks.append(
            Check(
                "unlicensed sources",
                "fail" if rule == "fail" else "warn",
                f"{report.unlicensed_count} source artifact(s) carry no licence: {names}",
                {"count": report.unlicensed_count},
            )
        )
    return checks


def gate_licence(ctx: GateContext, spec: GateSpec, artifact: Artifact) -> list[Check]:
    return licence_checks(ctx.client.licence_report(artifact), spec.params)


def gate_auditability(ctx: GateContext, spec: GateSpec, artifact: Artifact) -> list[Check]:
    from .auditability import check_auditability

    result = ctx.client.trace(artifact)
    nodes = result.nodes
    artifacts = [n for n in nodes.values() if isinstance(n, Artifact)]
    produced = {
        str(child.digest)
        for p, c, _, _ in result.edges
        if isinstance(child := nodes.get(c), Artifact) and not isinstance(nodes.get(p), Artifact)
    }
    digests = [str(a.digest) for a in artifacts]
    return check_auditability(artifacts, ctx.facts.actors(digests), produced, ctx.facts.sources(digests))


def gate_release(ctx: GateContext, spec: GateSpec, artifact: Artifact) -> list[Check]:
    from .release import compare_release, current_ref, evaluations_of

    current = ctx.client.resolve(current_ref(spec.params["current"]))
    if not isinstance(current, Artifact):
        raise ValidationError("current", f"{spec.params['current']} is a run, not a model")
    store = ctx.client.store

    def inputs(run_id: str) -> Sequence[tuple[Artifact, str]]:
        return store.io_of_run(run_id)[0]

    cand = evaluations_of(artifact, store.consumers_of(str(artifact.digest)), inputs)
    cur = evaluations_of(current, store.consumers_of(str(current.digest)), inputs)
    checks = compare_release(cand, cur, spec.params["metrics"], spec.params.get("confidence", 0.95))
    return [Check(c.name, c.verdict, c.message, {**c.measured, "current": current.label}) for c in checks]


def gate_reproducibility(ctx: GateContext, spec: GateSpec, artifact: Artifact) -> list[Check]:
    """R(m) as ``mlineage reproducible`` judges it (``reproduce/predicate.py``): one check per term of the
    producing runs, so the gate, ``closure`` and ``reproducible`` never disagree."""
    from .reproducibility import checks_of

    return checks_of(ctx.client.reproducible(artifact))


GATE_FUNCTIONS: dict[str, Callable[[GateContext, GateSpec, Artifact], list[Check]]] = {
    "schema": gate_schema,
    "pins": gate_pins,
    "freshness": gate_freshness,
    "privacy": gate_privacy,
    "licence": gate_licence,
    "auditability": gate_auditability,
    "release": gate_release,
    "reproducibility": gate_reproducibility,
}


# ---------------------------------------------------------------- the run


def _owner(ctx: GateContext, artifact: Artifact) -> str | None:
    keys = [str(artifact.digest)] + ([artifact.name] if artifact.name else [])
    found = ctx.facts.owners(keys)
    return next((found[k] for k in keys if k in found), None)


def evaluate(ctx: GateContext, spec: GateSpec, artifact: Artifact) -> GateResult:
    """One entry on one artifact; an error in the gate is an ``error`` verdict naming what went wrong."""
    try:
        checks = GATE_FUNCTIONS[spec.gate](ctx, spec, artifact)
    except MlineageError as exc:
        checks = [Check(spec.gate, "error", str(exc))]
    if not checks:
        checks = [
            Check(spec.gate, "fail", "the gate ran zero checks (nothing in its configuration to check)")
        ]
    owner = _owner(ctx, artifact)
    notify = (owner or "(no owner)") if spec.notify == "owner" else spec.notify
    return GateResult(
        spec.gate,
        spec.label,
        artifact.label,
        str(artifact.digest),
        worst([c.verdict for c in checks]),
        tuple(checks),
        spec.action,
        notify,
        owner,
        spec.line,
    )


def _unmatched(spec: GateSpec) -> GateResult:
    what = " ".join(f"{k}={v}" for k, v in (("name", spec.selector.name), ("kind", spec.selector.kind)) if v)
    return GateResult(
        spec.gate,
        spec.label,
        f"({what})",
        None,
        "fail",
        (Check(spec.gate, "fail", f"the gate matched no artifact ({what}): it ran zero checks"),),
        spec.action,
        spec.notify if spec.notify != "owner" else None,
        None,
        spec.line,
    )


def run_policy(
    client: Client,
    policy: Policy,
    refs: Sequence[str | Artifact] = (),
    *,
    clock: Clock = utc_clock,
    record: bool = True,
) -> CheckReport:
    """Run ``policy`` on ``refs`` (default: every artifact its entries select) and record every verdict."""
    ctx = GateContext(client, policy, clock)
    problems: list[str] = []
    results: list[GateResult] = []
    if not policy.gates:
        problems.append("the policy names no gates: a policy with zero checks fails")
    if refs:
        for ref in refs:
            node = client.resolve(ref) if isinstance(ref, str) else ref
            if not isinstance(node, Artifact):
                raise ValidationError("ref", f"{ref} is a run: check takes artifacts (datasets, models)")
            applying = [g for g in policy.gates if g.selector.matches(node.name, node.kind.value)]
            if policy.gates and not applying:
                problems.append(f"{node.label}: no gate of the policy applies to it")
            results.extend(evaluate(ctx, spec, node) for spec in applying)
    else:
        for spec in policy.gates:
            digests = ctx.facts.select(spec.selector.name, spec.selector.kind)
            if not digests:
                results.append(_unmatched(spec))
            for digest in digests:
                results.append(evaluate(ctx, spec, client.artifact(digest)))
    if record:
        record_results(client, policy, results)
    return CheckReport(policy.digest, policy.path, tuple(results), tuple(problems))


def record_results(client: Client, policy: Policy, results: Sequence[GateResult]) -> None:
    events = [
        NewEvent(
            "GateEvaluated",
            {
                "gate": r.gate,
                "label": r.label,
                "digest": r.digest,
                "verdict": r.verdict,
                "checks": [c.to_dict() for c in r.checks],
                "action": r.action,
                "policy_digest": policy.digest,
            },
        )
        for r in results
        if r.digest is not None
    ]
    if events:
        client.append(events)
        client.write_checkpoint()
