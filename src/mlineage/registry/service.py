"""What the Client's registry methods do: read the records, decide, append one event through the pipeline.

Every alias move carries the target the caller read (``expected``); the projection compares it inside the
writer's transaction, so a move decided on a stale read is refused with ``AliasConflictError``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError, PromotionRefusedError, ValidationError
from ..events import NewEvent
from ..model import Artifact
from .events import (
    ALIAS_REMOVED,
    ALIAS_SET,
    APPROVAL_CHANGED,
    APPROVAL_STATES,
    DEPLOY,
    INCIDENT_CLOSED,
    INCIDENT_OPENED,
    MODEL_DEPLOYED,
    MODEL_REGISTERED,
)
from .model import check_alias, check_name, check_semver, looks_like_version, split_ref, target_at
from .records import records_for

if TYPE_CHECKING:
    from ..sdk.client import Client
    from ..stores.protocol import MetadataStore


def _append(client: Client, event_type: str, payload: dict[str, Any]) -> None:
    client.append([NewEvent(event_type, payload)])
    flush = getattr(client.store, "flush", None)
    if flush is not None:  # a remote store: the server's verdict (a conflict) surfaces at this call
        flush(quiet=True)
    client.write_checkpoint()


def versions(client: Client, name: str) -> list[dict[str, Any]]:
    return records_for(client.store).versions(name)


def _versions_or_error(client: Client, name: str) -> list[dict[str, Any]]:
    found = versions(client, check_name(name))
    if not found:
        raise NotFoundError(f"no model is registered as {name!r}: `mlineage register PATH --name {name}`")
    return found


def register(client: Client, source: str | Artifact, name: str, semver: str | None = None) -> dict[str, Any]:
    """``source`` (a path, recorded as a model if new, or a REF) becomes the next ``NAME@N``; registering a
    digest the name already has returns that version."""
    check_name(name)
    check_semver(semver)
    from pathlib import Path

    if isinstance(source, Artifact):
        artifact = source
    elif Path(source).exists():
        artifact = client.record_artifact(source, kind="model")
    else:
        node = client.resolve(source)
        if not isinstance(node, Artifact):
            raise ValidationError("ref", f"{source} is a run: register a model artifact")
        artifact = node
    existing = versions(client, name)
    digest = str(artifact.digest)
    same = next((v for v in existing if v["digest"] == digest), None)
    if same is not None:
        return dict(same, existed=True)
    if semver is not None and any(v["semver"] == semver for v in existing):
        raise ValidationError("semver", f"{name} already has a version {semver}")
    payload: dict[str, Any] = {"name": name, "version": len(existing) + 1, "digest": digest}
    if semver is not None:
        payload["semver"] = semver
    _append(client, MODEL_REGISTERED, payload)
    return dict(next(v for v in versions(client, name) if v["digest"] == digest), existed=False)


def version_of(client: Client, name: str, target: str) -> dict[str, Any]:
    """``@N``, ``N``, a semver, ``@ALIAS`` or any REF naming one of NAME's registered versions."""
    known = _versions_or_error(client, name)
    text = target.removeprefix("@")
    if text.lstrip("-+").isdigit() and not text.isdigit():
        numbers = ", ".join(f"@{v['version']}" for v in known)
        raise ValidationError("target", f"{target} is not a version of {name}",
                              f"versions are numbered from @1: {numbers}")
    if text.isdigit():
        found = next((v for v in known if v["version"] == int(text)), None)
        if found is None:
            raise NotFoundError(f"{name} has no version {text}: its versions are "
                                + ", ".join(f"@{v['version']}" for v in known))
        return found
    if target.startswith("@") and not looks_like_version(text):
        target = f"{name}@{text}"
    by_semver = next((v for v in known if v["semver"] == text), None)
    if by_semver is not None:
        return by_semver
    node = client.resolve(target)
    if not isinstance(node, Artifact):
        raise ValidationError("target", f"{target} is a run: name a version of {name}")
    found = next((v for v in known if v["digest"] == str(node.digest)), None)
    if found is None:
        raise ValidationError("target",
                              f"{target} ({node.digest.short}) is not a registered version of {name}",
                              f"`mlineage register {target} --name {name}` first")
    return found


def current(client: Client, name: str, alias: str) -> dict[str, Any] | None:
    return next((a for a in records_for(client.store).aliases(name) if a["alias"] == alias), None)


def set_alias(client: Client, name: str, alias: str, target: str, *, reason: str = "",
              gates: list[dict[str, str]] | None = None, override: bool = False,
              expected: int | None | str = "read") -> dict[str, Any]:
    """Move NAME@ALIAS to ``target``; ``expected`` is the version the caller saw (default: read it now)."""
    check_alias(alias)
    chosen = version_of(client, name, target)
    if expected == "read":
        now = current(client, name, alias)
        expected = None if now is None else int(now["version"])
    _append(client, ALIAS_SET, {"name": name, "alias": alias, "version": chosen["version"],
                                "digest": chosen["digest"], "expected": expected, "reason": reason,
                                "gates": gates or [], "override": override})
    return history(client, name, alias)[-1]


def remove_alias(client: Client, name: str, alias: str, *, reason: str = "") -> dict[str, Any]:
    check_alias(alias)
    _versions_or_error(client, name)
    now = current(client, name, alias)
    if now is None:
        raise NotFoundError(f"{name} has no alias {alias!r}")
    _append(client, ALIAS_REMOVED,
            {"name": name, "alias": alias, "expected": now["version"], "reason": reason})
    return history(client, name, alias)[-1]


def history(client: Client, name: str, alias: str | None = None) -> list[dict[str, Any]]:
    _versions_or_error(client, name)
    if alias is not None:
        check_alias(alias)
    return records_for(client.store).moves(name, alias)


def resolve_alias(client: Client, name: str, alias: str, as_of: str | int | None = None) -> dict[str, Any]:
    """The version NAME@ALIAS names now, or as it stood at ``as_of`` (a ledger seq or a time)."""
    moves = history(client, name, alias)
    version = target_at(moves, as_of)
    if version is None:
        when = "" if as_of is None else f" at {as_of}"
        raise NotFoundError(f"{name} has no alias {alias!r}{when}"
                            + (" (`mlineage alias history` shows its moves)" if moves else ""))
    return next(v for v in versions(client, name) if v["version"] == version)


def promote(client: Client, ref: str, alias: str, *, force: bool = False, reason: str = "",
            policy: Any = None) -> dict[str, Any]:
    """Run the policy's gates on NAME@N and move NAME@ALIAS there; a blocking gate refuses (naming it) unless
    ``force``, which needs a reason and is recorded as an override."""
    parts = split_ref(ref)
    if parts is None or parts[1] != "@":
        raise ValidationError("ref", f"{ref!r} is not NAME@N", "promote fraud-model@4 --to production")
    name, _, text = parts
    check_alias(alias)
    if force and not reason:
        raise ValidationError("reason", "--force needs a reason", "pass --reason \"why\"")
    expected_now = current(client, name, alias)  # read before the gates: a move meanwhile is a conflict
    chosen = version_of(client, name, "@" + text if text.isdigit() else text)
    artifact = client.artifact(chosen["digest"])
    from ..gates import api

    gates: list[dict[str, str]] = []
    failing: list[str] = []
    approval = approval_check(client, chosen, alias)
    if approval is not None:
        gates.append({"gate": "approval", "label": "approval", "verdict": "fail"})
        failing.append(approval)
    if policy is not None or _has_policy(client):
        pol = api.policy_for(client, policy)
        report = api.run_check(client, [artifact], pol, True, None)
        for r in report.results:
            gates.append({"gate": r.gate, "label": r.label, "verdict": r.verdict})
            if r.blocking:
                detail = "; ".join(c.message for c in r.checks if c.verdict != "pass")
                failing.append(f"gate {r.label!r} {r.verdict}" + (f": {detail}" if detail else ""))
        failing.extend(report.problems)
    if failing and not force:
        raise PromotionRefusedError(f"{name}@{chosen['version']} is not promoted to {alias}: "
                                    + "; ".join(failing) + " (--force --reason records an override)")
    move = set_alias(client, name, alias, str(chosen["version"]), reason=reason, gates=gates,
                     override=bool(failing) and force,
                     expected=None if expected_now is None else int(expected_now["version"]))
    return dict(move, refused_by=failing)


def _version_ref(client: Client, ref: str) -> tuple[str, dict[str, Any]]:
    parts = split_ref(ref)
    if parts is None or parts[1] != "@":
        raise ValidationError("ref", f"{ref!r} is not NAME@N", "fraud-model@4")
    name, _, text = parts
    return name, version_of(client, name, "@" + text if text.isdigit() else text)


def set_approval(client: Client, ref: str, state: str, *, reason: str = "") -> dict[str, Any]:
    """Record NAME@N's approval state (``pending``, ``approved``, ``rejected``; SageMaker's model package
    states) with who and why. A rejection needs a reason; setting the state it already has is refused."""
    if state not in APPROVAL_STATES:
        raise ValidationError("state", f"{state!r} is not an approval state",
                              "one of " + ", ".join(APPROVAL_STATES))
    if state == "rejected" and not reason:
        raise ValidationError("reason", "a rejection needs a reason", "pass --reason \"why\"")
    name, chosen = _version_ref(client, ref)
    if chosen["approval"] == state:
        raise ValidationError("state", f"{name}@{chosen['version']} is already {state}")
    _append(client, APPROVAL_CHANGED, {"name": name, "version": chosen["version"], "state": state,
                                       "reason": reason})
    return next(v for v in versions(client, name) if v["version"] == chosen["version"])


def approvals(client: Client, name: str, version: int | None = None) -> list[dict[str, Any]]:
    """Every approval change of NAME's versions (or of one), oldest first."""
    _versions_or_error(client, name)
    found = records_for(client.store).approvals(name)
    return [a for a in found if version is None or a["version"] == version]


def required_approval(client: Client) -> frozenset[str]:
    """The aliases that need an ``approved`` version (``[registry] require_approval`` in the project's
    config.toml); empty without a project."""
    from ..config import read_config

    root = client.settings.project_root
    if root is None:
        return frozenset()
    aliases = (read_config(root).get("registry") or {}).get("require_approval") or []
    return frozenset(str(a) for a in aliases) if isinstance(aliases, list) else frozenset()


def approval_check(client: Client, version: dict[str, Any], alias: str) -> str | None:
    """Why ``version`` may not be promoted to ``alias`` by its approval state, or None. The rule: a
    ``rejected`` version is refused for every alias; a ``pending`` one only for the aliases the project
    lists in ``require_approval``; ``--force --reason`` overrides either, recorded like a failing gate."""
    label = f"{version['name']}@{version['version']}"
    if version["approval"] == "rejected":
        return (f"approval: {label} was rejected by {version['approval_by'] or '?'}"
                + (f" ({version['approval_reason']})" if version["approval_reason"] else ""))
    if version["approval"] == "pending" and alias in required_approval(client):
        return f"approval: {label} is pending and {alias} requires an approved version"
    return None


def deploy(client: Client, ref: str, endpoint: str, env: str, *, reason: str = "") -> dict[str, Any]:
    """Record that ``NAME@ALIAS`` (or ``NAME@N``) now serves ``endpoint`` in ``env``: a ``deploy`` run that
    used the version's digest (so the endpoint is in the lineage graph) and a ``ModelDeployed`` event."""
    import uuid

    from .. import events as ev

    parts = split_ref(ref)
    if parts is None:
        raise ValidationError("ref", f"{ref!r} is not NAME@ALIAS or NAME@N", "deploy fraud-model@production")
    name, _, text = parts
    chosen = version_of(client, name, "@" + text)
    alias = None if looks_like_version(text) else text
    run_id = uuid.uuid4().hex
    params = {"endpoint": endpoint, "env": env, "model": f"{name}@{chosen['version']}"}
    deployed = {"endpoint": endpoint, "env": env, "name": name, "version": chosen["version"],
                "digest": chosen["digest"], "alias": alias, "run_id": run_id, "reason": reason}
    client.append([
        NewEvent(ev.RUN_STARTED, {"run_id": run_id, "job": f"deploy {endpoint}", "kind": DEPLOY.value,
                                  "params": params}),
        NewEvent(ev.ARTIFACT_USED, {"run_id": run_id, "digest": chosen["digest"], "role": "model"}),
        NewEvent(ev.RUN_ENDED, {"run_id": run_id, "status": "completed"}),
        NewEvent(MODEL_DEPLOYED, deployed),
    ])
    flush = getattr(client.store, "flush", None)
    if flush is not None:
        flush(quiet=True)
    client.write_checkpoint()
    return endpoint_history(client, endpoint)[-1]


def endpoint_history(client: Client, endpoint: str) -> list[dict[str, Any]]:
    """Which registry version served ``endpoint`` when, oldest first."""
    found = records_for(client.store).deployments(endpoint)
    if not found:
        raise NotFoundError(f"nothing was deployed to endpoint {endpoint!r} (`mlineage deploy NAME@ALIAS "
                            f"--endpoint {endpoint} --env ENV` records a deployment)")
    return found


def tainted_by(client: Client, bad: Artifact, digest: str) -> list[str] | None:
    """The chain from ``bad`` to the version ``digest`` (labels, ancestor first), or None when ``bad`` is not
    in that version's ancestry."""
    if digest == str(bad.digest):
        return [bad.label]
    found = client.path(bad, digest, max_paths=1)
    if not found.found or found.swapped:
        return None
    return [found.nodes[i].label for i in found.paths[0]]


class Taint:
    """Which registered versions descend from ``bad``, and by which path: one walk down from ``bad`` on the
    graph engine's snapshot (with the predecessor tree, so each path is read off it) and one query for the
    versions' graph nodes, instead of a path query per version. A remote client, whose graph lives on the
    server, asks one path query per version (``tainted_by``)."""

    def __init__(self, client: Client, bad: Artifact) -> None:
        self.client, self.bad = client, bad
        self.local = hasattr(client.store, "engine")
        self._chains: dict[tuple[str, int], list[int]] = {}
        if not self.local:
            return
        from scipy.sparse.csgraph import breadth_first_order

        from ..model import NodeKind, NodeRef

        snap = client.graph.snapshot()
        root = client.store.node_id(NodeRef(NodeKind.ARTIFACT, str(bad.digest)))
        if root is None or root >= snap.n:
            return
        order, pred = breadth_first_order(snap.matrix("down", None), root, directed=True,
                                          return_predecessors=True)
        reached = set(order.tolist())
        sql = records_for(client.store)
        for name, version, node in sql.version_nodes():  # type: ignore[attr-defined]
            if node in reached and (name, version) not in self._chains:
                chain = [node]
                while chain[-1] != root:
                    chain.append(int(pred[chain[-1]]))
                self._chains[(name, version)] = chain[::-1]

    def chains(self, versions: list[dict[str, Any]]) -> dict[tuple[str, int], list[str]]:
        """(name, version) -> the path's labels, bad artifact first, for each tainted one of ``versions``."""
        if not self.local:
            out = {}
            for v in versions:
                chain = tainted_by(self.client, self.bad, v["digest"])
                if chain is not None:
                    out[(v["name"], v["version"])] = chain
            return out
        wanted = {(v["name"], v["version"]) for v in versions}
        found = {k: c for k, c in self._chains.items() if k in wanted}
        ids = sorted({i for c in found.values() for i in c})
        nodes = self.client.store.describe(ids) if ids else {}
        return {k: [nodes[i].label for i in c] for k, c in found.items()}


def rollback(client: Client, name: str, alias: str, excluding: str, *, reason: str = "") -> dict[str, Any]:
    """Move NAME@ALIAS to the newest version whose ancestry does not contain ``excluding`` (a bad dataset,
    code commit, base model), saying which versions were skipped and by which path; with no safe version,
    say so and change nothing."""
    check_alias(alias)
    if excluding.startswith("inc-"):  # an incident: its bad artifact, and the move names the incident
        opened = incident(client, excluding)
        reason = f"{reason}; incident {excluding}" if reason else f"incident {excluding}"
        excluding = opened["digest"]
    node = client.resolve(excluding)
    if not isinstance(node, Artifact):
        raise ValidationError("excluding", f"{excluding} is a run: name the bad artifact")
    known = _versions_or_error(client, name)
    now = current(client, name, alias)
    skipped: list[dict[str, Any]] = []
    chains = Taint(client, node).chains(known)
    for v in reversed(known):
        chain = chains.get((v["name"], v["version"]))
        if chain is not None:
            skipped.append({"version": v["version"], "digest": v["digest"], "path": chain})
            continue
        note = f"rollback excluding {node.label}" + (
            f"; skipped {', '.join('@' + str(s['version']) for s in skipped)}" if skipped else "")
        why = f"{reason} ({note})" if reason else note
        move = set_alias(client, name, alias, str(v["version"]), reason=why,
                         expected=None if now is None else int(now["version"]))
        return dict(move, skipped=skipped, excluding=str(node.digest))
    raise NotFoundError(f"no version of {name} is free of {node.label}: all {len(known)} descend from it; "
                        f"{name}@{alias} is unchanged")


def open_incident(client: Client, bad: str, reason: str) -> dict[str, Any]:
    """Mark an artifact (a dataset, a code commit, a base model) as bad; returns the incident."""
    import uuid

    if bad.startswith("doc:"):  # a corpus document: recorded as a node of its own, DERIVED_FROM its corpora
        from ..llm.service import document_artifact

        bad = document_artifact(client, bad)
    node = client.resolve(bad)
    if not isinstance(node, Artifact):
        raise ValidationError("bad", f"{bad} is a run: name the bad artifact")
    incident_id = "inc-" + uuid.uuid4().hex[:12]
    _append(client, INCIDENT_OPENED,
            {"incident_id": incident_id, "digest": str(node.digest), "reason": reason})
    return incident(client, incident_id)


def incident(client: Client, incident_id: str) -> dict[str, Any]:
    found = records_for(client.store).incident(incident_id)
    if found is None:
        raise NotFoundError(f"no incident {incident_id!r} (`mlineage incident open --bad REF` opens one)")
    return found


def close_incident(client: Client, incident_id: str, resolution: str) -> dict[str, Any]:
    incident(client, incident_id)
    _append(client, INCIDENT_CLOSED, {"incident_id": incident_id, "resolution": resolution})
    return incident(client, incident_id)


def impact(client: Client, incident_id: str) -> dict[str, Any]:
    """Every registered model version whose ancestry contains the incident's bad artifact (with the path),
    every alias that named one of them (now or in the past) and every endpoint that served one."""
    found = incident(client, incident_id)
    bad = client.artifact(found["digest"])
    everything = records_for(client.store).everything()
    chains = Taint(client, bad).chains(everything["versions"])
    affected = [dict(v, path=chains[(v["name"], v["version"])]) for v in everything["versions"]
                if (v["name"], v["version"]) in chains]
    keys = {(v["name"], v["version"]) for v in affected}
    current = {(m["name"], m["alias"]): m["to"] for m in everything["moves"]}
    aliases = sorted({(m["name"], m["alias"]) for m in everything["moves"] if (m["name"], m["to"]) in keys})
    alias_rows = [{"name": n, "alias": a, "now": (n, current[(n, a)]) in keys, "current": current[(n, a)]}
                  for n, a in aliases]
    endpoints = [d for d in everything["deployments"] if (d["name"], d["version"]) in keys]
    latest: dict[str, dict[str, Any]] = {}
    for d in everything["deployments"]:
        latest[d["endpoint"]] = d
    endpoint_rows = [{"endpoint": d["endpoint"], "env": d["env"], "name": d["name"], "version": d["version"],
                      "ts": d["ts"], "now": latest[d["endpoint"]]["seq"] == d["seq"]} for d in endpoints]
    reached = sorted(({"kind": n.kind.value, "label": n.label, "digest": str(n.digest)}
                      for n in client.impact(bad).nodes.values()
                      if isinstance(n, Artifact) and str(n.digest) != str(bad.digest)),
                     key=lambda r: (r["kind"], r["label"]))
    return {"incident": found, "versions": affected, "aliases": alias_rows, "endpoints": endpoint_rows,
            "reached": reached}


def _has_policy(client: Client) -> bool:
    from pathlib import Path

    from ..gates.policy import find_policy

    return find_policy(Path(client.settings.project_root or Path.cwd())) is not None


def resolve_ref(store: MetadataStore, ref: str) -> Artifact | None:
    """``NAME@ALIAS``, ``NAME#ALIAS`` or ``NAME@N`` of a registered model -> its artifact (by digest); a bare
    ``NAME`` -> its latest registered version, as a bare artifact name means its latest version; None when
    ``ref`` is not a registry ref, so ``refs.resolve`` goes on as before."""
    parts = split_ref(ref)
    if parts is None:
        versions = records_for(store).versions(ref) if "@" not in ref and "#" not in ref else []
        latest = max(versions, key=lambda v: int(v["version"]), default=None)
        return None if latest is None else store.get_artifact(latest["digest"])
    name, sep, text = parts
    is_alias = not looks_like_version(text)
    if sep == "@" and not is_alias and not text.isdigit():
        return None  # name@latest, name@1.4.0: the artifact versions' own forms
    records = records_for(store)
    if sep == "@" and not is_alias:
        found = next((v for v in records.versions(name) if v["version"] == int(text)), None)
        return None if found is None else store.get_artifact(found["digest"])
    if is_alias:
        target = next((a for a in records.aliases(name) if a["alias"] == text), None)
        if target is None:
            if not records.versions(name):
                raise NotFoundError(f"no model is registered as {name!r} (so {ref!r} names nothing)")
            raise NotFoundError(
                f"{name} has no alias {text!r}: `mlineage alias set {name} {text} @N` sets one")
        return store.get_artifact(target["digest"])
    return None
