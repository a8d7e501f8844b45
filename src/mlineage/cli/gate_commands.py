"""``mlineage check`` (quality gates, with exit codes for CI), ``mlineage licence`` (what an artifact inherits
and from where), ``mlineage owner`` and ``mlineage source`` (records the gates read)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .context import client_session
from .options import AS_OF_OPTION, JSON_OPTION
from .output import console, emit_json

if TYPE_CHECKING:
    from ..gates.model import CheckReport
    from ..gates.propagation import LicenceReport

_MARK = {
    "pass": "[green]pass[/]",
    "warn": "[yellow]warn[/]",
    "fail": "[red]fail[/]",
    "error": "[red]error[/]",
}


@click.command("check")
@click.argument("refs", nargs=-1)
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The policy file (default: mlineage.policy.yaml in the project).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "junit", "sarif"]),
    default="text",
    show_default=True,
    help="junit for GitLab and Jenkins, sarif for GitHub code scanning.",
)
@click.option(
    "--output",
    "-o",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the json/junit/sarif report to a file (the table still goes to the terminal).",
)
@click.option("--warn-only", is_flag=True, help="Report failures but exit 0.")
@click.option("--no-record", is_flag=True, help="Do not record the verdicts in the ledger.")
@click.option("--schema", "print_schema", is_flag=True, help="Print the policy's JSON Schema (for editors).")
@JSON_OPTION
def check_command(
    refs: tuple[str, ...],
    policy_path: Path | None,
    fmt: str,
    output: Path | None,
    warn_only: bool,
    no_record: bool,
    print_schema: bool,
    as_json: bool,
) -> None:
    """Run the policy's quality gates on REFs (default: every artifact the policy names).

    Exits 0 when every blocking gate passes, 1 when one fails, 2 on a usage or policy error. Every verdict is
    recorded in the ledger with the policy's digest (`mlineage show REF` lists them).
    """
    from ..errors import ConfigError
    from ..gates.policy import load_policy, policy_schema

    if print_schema:
        emit_json(policy_schema())
        return
    try:
        policy = load_policy(policy_path) if policy_path is not None else None
        with client_session() as client:
            report = client.check(list(refs), policy=policy, record=not no_record)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    fmt = "json" if as_json else fmt
    if fmt == "text" or output is not None:
        _print_report(report, warn_only)
    if fmt != "text":
        text = _formatted(report, fmt, warn_only)
        if output is not None:
            output.write_text(text + "\n", "utf-8")
        else:
            click.echo(text)
    sys.exit(report.exit_code(warn_only))


def _formatted(report: CheckReport, fmt: str, warn_only: bool) -> str:
    from ..gates import report as formats

    if fmt == "json":
        return formats.to_json(report, warn_only)
    if fmt == "junit":
        return formats.to_junit(report)
    return formats.to_sarif(report)


def _print_report(report: CheckReport, warn_only: bool) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table("gate", "artifact", "verdict", "action", "owner", "details", box=None)
    for r in report.results:
        details = (
            "; ".join(c.message for c in r.checks if c.verdict != "pass")
            or f"{len(r.checks)} check(s) passed"
        )
        action = r.action + (f", notify {r.notify}" if r.notify else "")
        table.add_row(
            escape(r.label),
            escape(r.target),
            _MARK[r.verdict],
            action,
            escape(r.owner or "-"),
            escape(details),
        )
    out = console()
    if report.results:
        out.print(table)
    for problem in report.problems:
        out.print(f"[red]fail[/] {escape(problem)}")
    counts = {v: sum(1 for r in report.results if r.verdict == v) for v in ("pass", "warn", "fail", "error")}
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n) or "no gates ran"
    verdict = "passed" if report.passed else ("failed (--warn-only)" if warn_only else "failed")
    out.print(f"{summary}: {verdict} under policy {report.policy_digest[:19]}")


@click.command("licence")
@click.argument("ref")
@click.option("--set", "licence", metavar="EXPR", help="Record the licence REF carries (SPDX or an id).")
@AS_OF_OPTION
@JSON_OPTION
def licence_command(ref: str, licence: str | None, as_of: str | None, as_json: bool) -> None:
    """Explain which ancestor of REF brings which licence obligation, with the path (or record one with
    --set).

    Licences are SPDX expressions (MIT AND CC-BY-SA-4.0) or Hugging Face licence ids (openrail, llama2,
    cc-by-nc-4.0); conditions propagate to every descendant.
    """
    with client_session(one_shot=True) as client:
        if licence is not None:
            client.record_licence(ref, licence)
            if as_json:
                emit_json({"ref": ref, "licence": licence})
            else:
                console().print(f"recorded licence {licence} on {ref}")
            return
        report = client.licence_report(ref, as_of=as_of)
    if as_json:
        emit_json(report.to_dict())
        return
    _print_licence(report)


def _flag(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "unknown"}[value]


def _print_licence(report: LicenceReport) -> None:
    from rich.markup import escape

    out = console()
    e = report.effective
    out.print(
        f"{escape(report.label)}: {e.use} use, attribution {_flag(e.attribution)}, "
        f"share-alike {_flag(e.share_alike)} ({len(report.obligations)} licensed of {report.ancestors} "
        "ancestors)"
    )
    for o in report.obligations:
        brings = [o.conditions.use] + [
            w
            for w, v in (("attribution", o.conditions.attribution), ("share-alike", o.conditions.share_alike))
            if v
        ]
        out.print(f"  {escape(o.label)} {escape(f'[{o.licence}]')} brings {', '.join(brings)}")
        out.print(f"    path: {escape(' -> '.join(o.path))}")
    if report.unlicensed_count:
        shown = ", ".join(o.label for o in report.unlicensed[:5])
        out.print(f"  {report.unlicensed_count} source(s) without a licence: {escape(shown)}")


@click.group("owner")
def owner_group() -> None:
    """Who owns an artifact or a name (recorded as events; `check` names the owner of each failure)."""


@owner_group.command("set")
@click.argument("target")
@click.argument("owner")
@JSON_OPTION
def owner_set(target: str, owner: str, as_json: bool) -> None:
    """Make OWNER (a person or team) own TARGET: a name (every version) or a REF (one version)."""
    with client_session() as client:
        key = client.set_owner(target, owner)
    if as_json:
        emit_json({"target": key, "owner": owner})
    else:
        console().print(f"{owner} owns {target}")


@owner_group.command("show")
@click.argument("ref")
@JSON_OPTION
def owner_show(ref: str, as_json: bool) -> None:
    """The owner of REF (its own, else its name's)."""
    with client_session() as client:
        owner = client.owner_of(ref)
    if as_json:
        emit_json({"ref": ref, "owner": owner})
    else:
        console().print(owner or "(no owner)")


@click.command("source")
@click.argument("ref")
@click.argument("source")
@JSON_OPTION
def source_command(ref: str, source: str, as_json: bool) -> None:
    """Record where REF came from when no run produced it (a URL, a vendor, a request number)."""
    with client_session() as client:
        client.record_source(ref, source)
    if as_json:
        emit_json({"ref": ref, "source": source})
    else:
        console().print(f"recorded the source of {ref}")


def gate_rows(client: Any, node: Any) -> list[dict[str, Any]]:
    """The gate verdicts recorded on an artifact, for ``show`` (newest verdict per gate label and policy)."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for e in client.gate_evaluations(node):
        latest[(e["label"], e["policy_digest"])] = {
            k: e[k] for k in ("gate", "label", "verdict", "policy_digest", "at", "seq")
        }
    return sorted(latest.values(), key=lambda e: e["seq"])


COMMANDS = [check_command, licence_command, owner_group, source_command]
