"""``mlineage erase REF`` and ``mlineage erasure show|decide|close``: erasure requests, their propagation
report and a decision per affected model, tracked to closure (docs/incidents.md)."""

from __future__ import annotations

from typing import Any

import click

from .context import client_session
from .options import JSON_OPTION
from .output import emit_json


def _show(found: dict[str, Any]) -> None:
    state = f"closed: {found['resolution']}" if found["resolution"] else (
        f"open: {len(found['open'])} model(s) without a decision" if found["open"]
        else "open: every model decided")
    click.echo(f"{found['id']} on {found['digest'][:19]} by {found['actor'] or '?'} (authorised by "
               f"{found['authorised_by']}) at {found['ts']}: {found['reason']} [{state}]")
    decided = {d["model"]: d for d in found["decisions"]}
    for model in found["affected"]:
        d = decided.get(model)
        click.echo(f"  model {model}: " + ("no decision yet" if d is None else
                                           f"{d['decision']} by {d['actor'] or '?'}"
                                           + (f" ({d['reason']})" if d["reason"] else "")))


@click.command("erase")
@click.argument("ref", metavar="REF")
@click.option("--reason", required=True, help="Why (the request: GDPR article 17, ticket ...).")
@click.option("--authorised-by", default=None, help="Who authorised it (default: you).")
@click.option("--ticket", default=None, help="The request's ticket.")
@click.option("--event", "events", multiple=True, type=int, metavar="SEQ",
              help="Also erase this event's payload (a run's params holding the person's data); repeatable.")
@JSON_OPTION
def erase_command(ref: str, reason: str, authorised_by: str | None, ticket: str | None,
                  events: tuple[int, ...], as_json: bool) -> None:
    """Erase REF's data: its blobs and the payloads holding its content, each replaced by a redaction event.

    `verify` still passes and lists what was erased, when and by whom. Prints the propagation report (every
    dataset, model, index and endpoint downstream); record a decision per affected model with `mlineage
    erasure decide`, then `mlineage erasure close`."""
    with client_session() as client:
        found = client.erase(ref, reason=reason, authorised_by=authorised_by, ticket=ticket, events=events)
    if as_json:
        emit_json(found)
        return
    report = found["report"]
    click.echo(f"erased {found['id']}: {len(found['erased_seqs'])} payload(s), "
               f"{len(found['blobs_removed'])} blob(s)")
    click.echo(f"downstream: {len(report['datasets'])} dataset(s)/data, {len(report['models'])} model(s), "
               f"{len(report['indexes'])} index(es), {len(report['endpoints'])} endpoint deployment(s), "
               f"{report['runs']} run(s)")
    for row in report["datasets"]:
        click.echo(f"  data {row['label']} ({row['kind']})")
    for row in report["indexes"]:
        click.echo(f"  index {row['label']} ({row['kind']})")
    for row in report["models"]:
        click.echo(f"  model {row['model']}: needs a decision (retrain, unlearn or accept)")
    for row in report["endpoints"]:
        click.echo(f"  endpoint {row['endpoint']} [{row['env']}]: {row['model']} "
                   + ("serving now" if row["now"] else f"served from {row['ts']}"))


def _answer(found: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(found)
    else:
        _show(found)


@click.group("erasure")
def erasure_group() -> None:
    """Erasure requests: what was erased, which models it reached, and what was decided for each."""


@erasure_group.command("show")
@click.argument("erasure_id", metavar="ID")
@JSON_OPTION
def erasure_show(erasure_id: str, as_json: bool) -> None:
    """An erasure, its affected models and their decisions."""
    with client_session() as client:
        found = client.erasure(erasure_id)
    _answer(found, as_json)


@erasure_group.command("decide")
@click.argument("erasure_id", metavar="ID")
@click.argument("model", metavar="MODEL")
@click.argument("decision", type=click.Choice(["retrain", "unlearn", "accept"]))
@click.option("--reason", default="", help="Why (required to accept).")
@JSON_OPTION
def erasure_decide(erasure_id: str, model: str, decision: str, reason: str, as_json: bool) -> None:
    """Record what happens to MODEL (NAME@N, or a digest) that learnt from the erased data."""
    with client_session() as client:
        found = client.decide_erasure(erasure_id, model, decision, reason=reason)
    _answer(found, as_json)


@erasure_group.command("close")
@click.argument("erasure_id", metavar="ID")
@click.option("--resolution", required=True, help="How it was resolved.")
@JSON_OPTION
def erasure_close(erasure_id: str, resolution: str, as_json: bool) -> None:
    """Close an erasure; refused while an affected model has no decision."""
    with client_session() as client:
        found = client.close_erasure(erasure_id, resolution)
    _answer(found, as_json)


COMMANDS = [erase_command, erasure_group]
