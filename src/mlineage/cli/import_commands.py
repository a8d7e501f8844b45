"""``mlineage import dvc|mlflow|openlineage`` and ``mlineage scan``: bring history kept elsewhere into the
ledger, or reconstruct it where none was kept. The work is in ``mlineage.importers``; these commands parse,
call the Client, show progress on stderr and print the report."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .context import client_session
from .options import JSON_OPTION
from .output import emit_json

if TYPE_CHECKING:
    from ..importers.sink import ImportReport


@contextlib.contextmanager
def _progress(label: str) -> Iterator[tuple[Callable[[int], None], Callable[[int], None]]]:
    """(advance, set total) callbacks drawing a Rich progress bar on stderr (nothing when it is not a
    terminal, so piped and --json output stay clean)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=Console(stderr=True), transient=True, disable=not sys.stderr.isatty())
    task = bar.add_task(label, total=None)
    with bar:
        yield (lambda n: bar.advance(task, n)), (lambda total: bar.update(task, total=total))


def _print(report: ImportReport, as_json: bool, what: str) -> None:
    if as_json:
        emit_json(report.to_dict())
        return
    if report.source == "scan":
        click.echo(f"scan: {report.units} file(s) recorded, {report.imported} showing lineage; "
                   f"{report.appended} ledger events appended")
    else:
        click.echo(f"{what}: {report.units} {_unit(report.source)}, {report.imported} imported, "
                   f"{report.skipped} already imported; {report.appended} ledger events appended")
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)


def _unit(source: str) -> str:
    return {"dvc": "commit(s)", "mlflow": "run(s) and registered model(s)", "openlineage": "event(s)"}[source]


@click.group("import")
def import_group() -> None:
    """Import history from DVC, MLflow or OpenLineage event logs (idempotent: importing again adds nothing,
    and an interrupted import resumes where it stopped)."""


@import_group.command("dvc")
@click.argument("paths", nargs=-1, type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--rev", "rev_range", metavar="A..B",
              help="The commits of a git range (default: HEAD's history).")
@click.option("--all-tags", is_flag=True, help="The tagged commits, in history order.")
@click.option("--snapshots", is_flag=True,
              help="PATHS are folders holding one commit's DVC files each, oldest first (not a repository).")
@click.option("--force", is_flag=True, help="Map every commit again (the ledger still skips known events).")
@JSON_OPTION
def import_dvc(paths: tuple[Path, ...], rev_range: str | None, all_tags: bool, snapshots: bool, force: bool,
               as_json: bool) -> None:
    """Import the DVC pipeline history of the repository at PATHS (default: here): dvc.yaml, dvc.lock (2.0),
    *.dvc and params.yaml across its commits. Stages become runs, outputs artifacts; md5 digests become
    alias digests (md5:...), linked to sha256 when the data is in the workspace or the DVC cache."""
    if snapshots and (rev_range or all_tags):
        raise click.UsageError("--snapshots reads folders, not git history: drop --rev/--all-tags")
    if not snapshots and len(paths) > 1:
        raise click.UsageError("give one repository (or --snapshots with several folders)")
    if rev_range and all_tags:
        raise click.UsageError("--rev and --all-tags choose commits differently: give one")
    with client_session() as client, _progress("dvc") as (advance, total):
        report = client.import_dvc(None if snapshots or not paths else paths[0], rev_range=rev_range,
                                   all_tags=all_tags, folders=list(paths) if snapshots else [],
                                   progress=advance, total=total, force=force)
    _print(report, as_json, "dvc")


@import_group.command("mlflow")
@click.option("--tracking-uri", required=True, metavar="URI",
              help="An MLflow file store folder (./mlruns) or sqlite:///mlflow.db.")
@click.option("--force", is_flag=True, help="Map every run again (the ledger still skips known events).")
@JSON_OPTION
def import_mlflow(tracking_uri: str, force: bool, as_json: bool) -> None:
    """Import an MLflow store: experiments, runs (params, metric history, tags, status), dataset inputs,
    artifacts and logged models (hashed when readable), registered models and their aliases."""
    with client_session() as client, _progress("mlflow runs") as (advance, _total):
        report = client.import_mlflow(tracking_uri, progress=advance, force=force)
    _print(report, as_json, "mlflow")


@import_group.command("openlineage")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--force", is_flag=True, help="Map every event again (the ledger still skips known events).")
@JSON_OPTION
def import_openlineage(paths: tuple[Path, ...], force: bool, as_json: bool) -> None:
    """Import OpenLineage events from files (JSON lines, or one JSON event or list per file) and folders of
    them, validated and mapped as the server's /api/v1/lineage does."""
    with client_session() as client, _progress("openlineage events") as (advance, _total):
        report = client.import_openlineage(list(paths), progress=advance, force=force)
    _print(report, as_json, "openlineage")


class _ScanGroup(click.Group):
    """``scan DIR`` scans; ``scan edges|confirm|reject ...`` manage what a scan inferred."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        if args and args[0] not in self.commands:
            return "dir", self.commands["dir"], args
        return super().resolve_command(ctx, args)


@click.group("scan", cls=_ScanGroup)
def scan_group() -> None:
    """Reconstruct lineage where nothing was tracked: `mlineage scan DIR` records DIR's files and the edges
    its scripts, notebooks and logs suggest, marked INFERRED with a confidence and the evidence (file:line).
    `scan edges` lists them; `scan confirm EDGE` / `scan reject EDGE` record a decision."""


@scan_group.command("dir", hidden=True)
@click.argument("root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--pattern", "patterns", multiple=True, metavar="read|write=REGEX",
              help="A log-line pattern with a (?P<path>...) group (repeat; replaces the defaults).")
@JSON_OPTION
def scan_dir(root: Path, patterns: tuple[str, ...], as_json: bool) -> None:
    """Scan ROOT."""
    options: dict[str, Any] = {}
    if patterns:
        parsed = []
        for text in patterns:
            relation, sep, regex = text.partition("=")
            if not sep or relation not in ("read", "write"):
                raise click.UsageError(f"--pattern {text!r}: write read=REGEX or write=REGEX")
            parsed.append((relation, regex))
        options["patterns"] = parsed
    with client_session() as client, _progress("scan") as (advance, _total):
        report = client.scan(root, progress=advance, **options)
        edges = client.inferred_edges()
    if as_json:
        emit_json(dict(report.to_dict(), inferred_edges=edges))
        return
    _print(report, False, "scan")
    _print_edges(edges)


def _print_edges(edges: list[dict[str, Any]]) -> None:
    for e in edges:
        ev = e["evidence"][0]
        click.echo(f"{e['edge_id'][:12]}  {e['status']:<9} {e['relation']:<5} p={e['confidence']:.2f}  "
                   f"{ev['file']}:{ev['line']}  {ev['text']}")


@scan_group.command("edges")
@click.option("--status", type=click.Choice(["inferred", "confirmed", "rejected"]))
@JSON_OPTION
def scan_edges(status: str | None, as_json: bool) -> None:
    """List inferred edges with their confidence, status and evidence."""
    with client_session() as client:
        edges = client.inferred_edges(status)
    if as_json:
        emit_json({"inferred_edges": edges})
    else:
        _print_edges(edges)


def _decide(decision: str) -> Callable[..., None]:
    def command(edge: str, note: str | None, as_json: bool) -> None:
        with client_session() as client:
            decided = client.decide_inferred(edge, decision, note)
        if as_json:
            emit_json(decided)
        else:
            click.echo(f"{decision} {decided['edge_id'][:12]} ({decided['relation']} "
                       f"{decided['evidence'][0]['file']}:{decided['evidence'][0]['line']})")
    return command


for _name, _decision in (("confirm", "confirmed"), ("reject", "rejected")):
    scan_group.command(
        _name, help=f"Record that an inferred edge is {_decision} (EDGE: its id or a prefix).")(
        click.argument("edge")(click.option("--note", help="Why (kept in the ledger).")(JSON_OPTION(
            _decide(_decision)))))

COMMANDS = [import_group, scan_group]
