"""``reproducible REF`` (R(m) term by term; exit 1 when not reproducible) and ``reproduce REF`` (re-run and
judge). Each calls one Client method and formats its answer."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .context import client_session
from .options import AS_OF_OPTION, JSON_OPTION
from .output import console, emit_json

if TYPE_CHECKING:
    from ..reproduce.predicate import Reproducibility
    from ..reproduce.rerun import ReproduceResult


def report_lines(report: Reproducibility, ref: str | None = None) -> list[str]:
    """R(m) as plain lines: the verdict, then each judged run's terms with their evidence or reasons."""
    verdict = "reproducible" if report.reproducible else "NOT reproducible"
    scope = "its whole ancestry" if report.recursive else "the run(s) that produced it"
    lines = [f"R({ref or report.root}) over {scope}: {verdict}"]
    if report.source is not None:
        mark = "ok" if report.source.ok else "FAIL"
        lines.append(f"  source data {mark}: " + "; ".join(report.source.reasons or report.source.evidence))
    for run in report.judged:
        lines.append(f"run {run.run_id[:12]} ({run.job}): {'ok' if run.ok else 'FAIL'}")
        for term in run.terms:
            mark = "ok" if term.ok else ("FAIL" if term.required else "warn")
            detail = term.reasons if not term.ok else term.evidence
            lines.append(f"  {term.name:<12} {mark:<5} " + ("; ".join(detail) if detail else "-"))
    return lines


@click.command("reproducible")
@click.argument("ref")
@click.option(
    "--recursive", "-r", is_flag=True, help="Judge every run of the ancestry, not only the producer."
)
@AS_OF_OPTION
@JSON_OPTION
def reproducible_command(ref: str, recursive: bool, as_of: str | None, as_json: bool) -> None:
    """Explain R(REF) = data · code · environment term by term; exit 1 when REF is not reproducible."""
    from rich.markup import escape

    with client_session(one_shot=True) as client:
        report = client.reproducible(ref, recursive=recursive, as_of=as_of)
    if as_json:
        emit_json(report.to_dict())
    else:
        out = console()
        for line in report_lines(report, ref):
            out.print(escape(line), highlight=False, soft_wrap=True)
    if not report.reproducible:
        raise SystemExit(1)


def result_lines(result: ReproduceResult) -> list[str]:
    lines = []
    for step in result.steps:
        head = f"{step.original.job} (run {step.original.id[:12]}): {step.verdict}"
        if step.run_id and step.run_id != step.original.id:
            head += f" -> run {step.run_id[:12]}"
        lines.append(head)
        if step.explain:
            lines.append(f"  why: {step.explain}")
        for difference in step.environment[:10]:
            lines.append(f"  environment differs: {difference}")
        for output in step.outputs:
            line = f"  {output.name}: {output.verdict}"
            if output.max_abs is not None and output.verdict != "identical":
                line += f" (max abs diff {output.max_abs:.3g}, max rel diff {output.max_rel:.3g})"
            lines.append(line)
            lines.extend(f"    {d}" for d in output.differences[:3] if output.verdict != "identical")
        if step.message:
            lines.append(f"  {step.message}")
    ok = "passed" if result.ok else "FAILED"
    counts: dict[str, int] = {}
    for step in result.steps:
        counts[step.verdict] = counts.get(step.verdict, 0) + 1
    lines.append(f"reproduce {ok}: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())))
    return lines


@click.command("reproduce")
@click.argument("ref")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the checkout and inputs (default: a new temporary folder).",
)
@click.option("--strict", is_flag=True, help="Refuse when the environment differs from the recorded one.")
@click.option(
    "--rtol",
    type=float,
    default=1e-6,
    show_default=True,
    help="Relative tolerance for an equivalent (not bit-identical) output.",
)
@click.option("--atol", type=float, default=0.0, show_default=True, help="Absolute tolerance.")
@click.option("--reuse", is_flag=True, help="Restore the outputs of a run with the same cache key instead.")
@click.option(
    "--upstream",
    is_flag=True,
    help="Bring the whole ancestry up to date with the current code, re-running only stale steps.",
)
@click.option("--explain", is_flag=True, help="Say why each step was re-run or reused (its cache key terms).")
@JSON_OPTION
def reproduce_command(
    ref: str,
    workdir: Path | None,
    strict: bool,
    rtol: float,
    atol: float,
    reuse: bool,
    upstream: bool,
    explain: bool,
    as_json: bool,
) -> None:
    """Re-run what produced REF from its recorded inputs, code and command; compare the outputs.

    Exit 0 when every output is bit-identical or equivalent within tolerance, 1 otherwise. With --upstream,
    an answer that nothing is stale is kept (in .mlineage/reproduce/) and given again, without opening the
    lineage graph, until the ledger, the working tree, REF or the environment changes."""
    noop = upstream and not reuse and workdir is None
    if noop:
        from ..config import load_settings
        from ..reproduce import stamp

        settings = load_settings()
        kept = stamp.load(settings.project_root, settings.store_uri, ref, Path.cwd())
        if kept is not None:
            _print_answer(kept["json"], kept["lines"], explain, as_json)
            return
        from ..reproduce.quick import noop_answer

        found = noop_answer(settings, ref, Path.cwd())  # a SQLite store read without SQLAlchemy
        if found is not None:
            first, head = found
            as_dict, lines = first.to_dict(), result_lines(first)
            assert first.repo is not None
            stamp.save(settings.project_root, settings.store_uri, ref, Path.cwd(), first.repo, first.watched,
                       {"json": as_dict, "lines": lines}, ledger=head)
            _print_answer(as_dict, lines, explain, as_json)
            return
    from rich.markup import escape

    from ..reproduce.rerun import ReproduceOptions

    options = ReproduceOptions(workdir=workdir, strict=strict, rtol=rtol, atol=atol, reuse=reuse,
                               upstream=upstream, explain=explain)
    out = console()
    quiet = as_json or not out.is_terminal

    def progress(message: str) -> None:
        if not quiet:
            out.print(f"[dim]{escape(message)}[/]")

    with client_session() as client:
        result = client.reproduce(ref, options, progress)
        if noop and result.noop and result.repo is not None:
            stamp.save(settings.project_root, client.settings.store_uri, ref, Path.cwd(), result.repo,
                       result.watched, {"json": result.to_dict(), "lines": result_lines(result)})
    _print_answer(result.to_dict(), result_lines(result), explain, as_json)


def _print_answer(answer: dict[str, Any], lines: list[str], explain: bool, as_json: bool) -> None:
    if as_json:
        emit_json(answer)
    else:
        for line in lines:
            if explain or not line.startswith("  why: "):
                click.echo(line)
    if not answer["ok"]:
        raise SystemExit(1)


def show_reproducibility(client: Any, ref: str) -> dict[str, Any]:
    """What ``show`` prints about R(ref): the verdict and the reasons it fails."""
    report = client.reproducible(ref)
    failing = sorted({t.name for r in report.judged for t in r.terms if t.required and not t.ok}
                     | ({"data"} if report.source is not None and not report.source.ok else set()))
    return {"reproducible": report.reproducible, "failing": failing, "reasons": report.reasons()}


COMMANDS = [reproducible_command, reproduce_command]
