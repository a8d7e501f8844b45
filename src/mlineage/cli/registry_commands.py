"""``mlineage register``, ``mlineage alias set|remove|history|show``, ``mlineage promote`` and
``mlineage models``: the model registry (docs/registry.md). Each parses, calls the Client, formats."""

from __future__ import annotations

from typing import Any

import click

from .context import client_session
from .options import AS_OF_OPTION, JSON_OPTION
from .output import emit_json


def _short(digest: str | None) -> str:
    return "-" if digest is None else digest[:19]


def _at(version: int | None) -> str:
    return "(unset)" if version is None else f"@{version}"


@click.command("register")
@click.argument("source", metavar="PATH|REF")
@click.option("--name", required=True, help="The registered model's name (versions are NAME@1, NAME@2, ...).")
@click.option("--semver", metavar="X.Y.Z", help="A semantic version for this registry version as well.")
@JSON_OPTION
def register_command(source: str, name: str, semver: str | None, as_json: bool) -> None:
    """Give a model (a file or folder, recorded if new, or a REF) the next immutable registry version."""
    with client_session() as client:
        done = client.register_model(source, name, semver=semver)
    if as_json:
        emit_json(done)
        return
    label = f"{name}@{done['version']}" + (f" ({done['semver']})" if done.get("semver") else "")
    click.echo(f"{label} is {_short(done['digest'])}" + (" (already registered)" if done["existed"] else ""))


@click.command("models")
@click.argument("name")
@JSON_OPTION
def models_command(name: str, as_json: bool) -> None:
    """A registered model's versions and the aliases pointing at them."""
    from ..registry.records import records_for
    from ..registry.service import _versions_or_error

    with client_session() as client:
        versions = _versions_or_error(client, name)
        aliases = records_for(client.store).aliases(name)
    if as_json:
        emit_json({"versions": versions, "aliases": aliases})
        return
    by_version: dict[int, list[str]] = {}
    for a in aliases:
        by_version.setdefault(a["version"], []).append(a["alias"])
    for v in versions:
        tags = ", ".join(by_version.get(v["version"], []))
        click.echo(f"{name}@{v['version']}  {_short(v['digest'])}  {v['semver'] or '-'}  {v['approval']}"
                   + (f"  [{tags}]" if tags else ""))


@click.group("alias")
def alias_group() -> None:
    """Aliases of a registered model (NAME@production): every move is an event with who, when and why."""


@alias_group.command("set")
@click.argument("name")
@click.argument("alias")
@click.argument("target", metavar="@N|REF")
@click.option("--reason", default="", help="Why (kept in the ledger with who moved it and when).")
@JSON_OPTION
def alias_set(name: str, alias: str, target: str, reason: str, as_json: bool) -> None:
    """Point NAME@ALIAS at a registered version (no gates: `mlineage promote` runs them)."""
    with client_session() as client:
        move = client.set_alias(name, alias, target, reason=reason)
    _moved(move, as_json)


@alias_group.command("remove")
@click.argument("name")
@click.argument("alias")
@click.option("--reason", default="", help="Why.")
@JSON_OPTION
def alias_remove(name: str, alias: str, reason: str, as_json: bool) -> None:
    """Remove NAME@ALIAS (its history stays)."""
    with client_session() as client:
        move = client.remove_alias(name, alias, reason=reason)
    _moved(move, as_json)


def _moved(move: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(move)
        return
    click.echo(f"{move['name']}@{move['alias']}: {_at(move['from'])} -> {_at(move['to'])}"
               + (" (override)" if move["override"] else ""))


@alias_group.command("history")
@click.argument("name")
@click.argument("alias", required=False)
@JSON_OPTION
def alias_history(name: str, alias: str | None, as_json: bool) -> None:
    """Every move of NAME's aliases (or of ALIAS): from, to, who, when, why, which gates passed."""
    with client_session() as client:
        moves = client.alias_history(name, alias)
    if as_json:
        emit_json(moves)
        return
    for m in moves:
        gates = ", ".join(f"{g['label']} {g['verdict']}" for g in m["gates"])
        click.echo(f"{m['ts']}  {m['alias']}: {_at(m['from'])} -> {_at(m['to'])}  by {m['actor'] or '?'}"
                   + (f"  gates: {gates}" if gates else "") + ("  OVERRIDE" if m["override"] else "")
                   + (f"  reason: {m['reason']}" if m["reason"] else ""))


@alias_group.command("show")
@click.argument("name")
@click.argument("alias")
@AS_OF_OPTION
@JSON_OPTION
def alias_show(name: str, alias: str, as_of: str | None, as_json: bool) -> None:
    """The version NAME@ALIAS names (now, or as it stood at --as-of)."""
    with client_session() as client:
        found = client.resolve_alias(name, alias, as_of=as_of)
    if as_json:
        emit_json(found)
        return
    click.echo(f"{name}@{alias} = {name}@{found['version']}  {found['digest']}")


def rollback_alias(name: str, alias: str, excluding: str, reason: str, as_json: bool) -> None:
    """What `mlineage alias rollback` and `mlineage rollback NAME ALIAS --excluding REF` run."""
    with client_session() as client:
        move = client.rollback_alias(name, alias, excluding, reason=reason)
    if as_json:
        emit_json(move)
        return
    for s in move["skipped"]:
        click.echo(f"skipped {name}@{s['version']}: " + " -> ".join(s["path"]))
    _moved(move, False)


_EXCLUDING = click.option(
    "--excluding", required=True, metavar="REF|INCIDENT",
    help="The bad artifact (a dataset, a code commit, a base model) or an incident id: no candidate may "
         "descend from it.")
_ROLLBACK_HELP = """Move NAME@ALIAS to the newest version whose ancestry does not contain the bad artifact.

    Lists the versions skipped and the path by which each descends from it; with no safe version it says so
    and moves nothing (exit 1)."""


@alias_group.command("rollback", help=_ROLLBACK_HELP)
@click.argument("name")
@click.argument("alias")
@_EXCLUDING
@click.option("--reason", default="", help="Why (an incident, a ticket).")
@JSON_OPTION
def alias_rollback(name: str, alias: str, excluding: str, reason: str, as_json: bool) -> None:
    rollback_alias(name, alias, excluding, reason, as_json)


@click.group("approval")
def approval_group() -> None:
    """Approval states of registry versions (pending, approved, rejected) with who and why."""


@approval_group.command("set")
@click.argument("ref", metavar="NAME@N")
@click.argument("state", type=click.Choice(["pending", "approved", "rejected"]))
@click.option("--reason", default="", help="Why (required to reject).")
@JSON_OPTION
def approval_set(ref: str, state: str, reason: str, as_json: bool) -> None:
    """Set NAME@N's approval state; a rejected version cannot be promoted without --force."""
    with client_session() as client:
        version = client.set_approval(ref, state, reason=reason)
    if as_json:
        emit_json(version)
        return
    click.echo(f"{version['name']}@{version['version']} is {version['approval']}"
               + (f": {version['approval_reason']}" if version["approval_reason"] else ""))


@approval_group.command("history")
@click.argument("name")
@JSON_OPTION
def approval_history(name: str, as_json: bool) -> None:
    """Every approval change of NAME's versions: state, who, when, why."""
    with client_session() as client:
        rows = client.approvals(name)
    if as_json:
        emit_json(rows)
        return
    for a in rows:
        click.echo(f"{a['ts']}  {name}@{a['version']}: {a['state']}  by {a['actor'] or '?'}"
                   + (f"  reason: {a['reason']}" if a["reason"] else ""))


@click.command("promote")
@click.argument("ref", metavar="NAME@N")
@click.option("--to", "alias", required=True, help="The alias to move (production, staging, ...).")
@click.option("--force", is_flag=True, help="Promote although a gate blocks (needs --reason; recorded).")
@click.option("--reason", default="", help="Why (required with --force).")
@JSON_OPTION
def promote_command(ref: str, alias: str, force: bool, reason: str, as_json: bool) -> None:
    """Run the policy's gates (mlineage.policy.yaml) on NAME@N and move NAME@ALIAS there.

    A blocking gate refuses the promotion, naming the gate (exit 1); --force --reason records an override."""
    with client_session() as client:
        move = client.promote(ref, alias, force=force, reason=reason)
    if as_json:
        emit_json(move)
        return
    _moved(move, False)
    for failing in move["refused_by"]:
        click.echo(f"  overridden: {failing}")


@click.command("deploy")
@click.argument("ref", metavar="NAME@ALIAS|NAME@N")
@click.option("--endpoint", required=True, help="The serving endpoint (payments-scoring).")
@click.option("--env", "env", required=True, help="The environment (prod, staging).")
@click.option("--reason", default="", help="Why.")
@JSON_OPTION
def deploy_command(ref: str, endpoint: str, env: str, reason: str, as_json: bool) -> None:
    """Record a deployment: the version the alias names now (by digest), endpoint, environment, who, when."""
    with client_session() as client:
        done = client.deploy(ref, endpoint, env, reason=reason)
    if as_json:
        emit_json(done)
        return
    via = f" (via {done['name']}@{done['alias']})" if done["alias"] else ""
    click.echo(f"{endpoint} [{env}] serves {done['name']}@{done['version']}{via} {_short(done['digest'])}")


@click.group("endpoint")
def endpoint_group() -> None:
    """Serving endpoints and what served them."""


@endpoint_group.command("history")
@click.argument("endpoint")
@JSON_OPTION
def endpoint_history(endpoint: str, as_json: bool) -> None:
    """Which registry version served ENDPOINT when, oldest first."""
    with client_session() as client:
        rows = client.endpoint_history(endpoint)
    if as_json:
        emit_json(rows)
        return
    for d in rows:
        via = f" via @{d['alias']}" if d["alias"] else ""
        click.echo(f"{d['ts']}  [{d['env']}] {d['name']}@{d['version']}{via}  {_short(d['digest'])}  "
                   f"by {d['actor'] or '?'}" + (f"  reason: {d['reason']}" if d["reason"] else ""))


@click.group("incident")
def incident_group() -> None:
    """Incidents: a bad artifact, what it reached, and how it was resolved."""


@incident_group.command("open")
@click.option("--bad", required=True, metavar="REF", help="The bad artifact (dataset, code, base model).")
@click.option("--reason", required=True, help="What is wrong with it.")
@JSON_OPTION
def incident_open(bad: str, reason: str, as_json: bool) -> None:
    """Open an incident on a bad artifact (`incident impact ID` lists what it reached)."""
    with client_session() as client:
        found = client.open_incident(bad, reason=reason)
    if as_json:
        emit_json(found)
        return
    click.echo(f"opened {found['id']} on {_short(found['digest'])}: {found['reason']}")


@incident_group.command("impact")
@click.argument("incident_id", metavar="ID")
@JSON_OPTION
def incident_impact(incident_id: str, as_json: bool) -> None:
    """Every registered model version, alias and endpoint downstream of the incident's bad artifact."""
    with client_session() as client:
        found = client.incident_impact(incident_id)
    if as_json:
        emit_json(found)
        return
    click.echo(f"{incident_id}: {_short(found['incident']['digest'])} reached {len(found['versions'])} "
               f"model version(s)")
    for v in found["versions"]:
        click.echo(f"  {v['name']}@{v['version']}: " + " -> ".join(v["path"]))
    for a in found["aliases"]:
        click.echo(f"  alias {a['name']}@{a['alias']}: " + ("names one now" if a["now"] else
                                                             f"named one before (now {_at(a['current'])})"))
    for e in found["endpoints"]:
        click.echo(f"  endpoint {e['endpoint']} [{e['env']}]: {e['name']}@{e['version']} "
                   + ("serving now" if e["now"] else f"served from {e['ts']}"))
    kinds: dict[str, list[str]] = {}
    for r in found.get("reached", []):
        kinds.setdefault(r["kind"], []).append(r["label"])
    if kinds:
        click.echo("  downstream artifacts:")
    for kind, labels in sorted(kinds.items()):
        click.echo(f"    {kind}: {', '.join(labels)}")


@incident_group.command("close")
@click.argument("incident_id", metavar="ID")
@click.option("--resolution", required=True, help="How it was resolved.")
@JSON_OPTION
def incident_close(incident_id: str, resolution: str, as_json: bool) -> None:
    """Close an incident with its resolution."""
    with client_session() as client:
        found = client.close_incident(incident_id, resolution)
    if as_json:
        emit_json(found)
        return
    click.echo(f"closed {incident_id}: {found['resolution']}")


COMMANDS = [register_command, models_command, alias_group, promote_command, deploy_command, endpoint_group,
            incident_group, approval_group]
