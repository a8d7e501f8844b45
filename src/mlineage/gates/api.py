"""The Client's gate methods, kept here so ``sdk/client.py`` stays one line per method.

Reads go to the store the Client has: a local SQL store answers from the ``gates`` projection and the lineage
engine; a team server answers ``/api/v1/gates/*`` by calling these same functions on its own Client. Writes
are
events through the Client's one append pipeline either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, ValidationError
from ..events import NewEvent
from ..model import Artifact

if TYPE_CHECKING:
    from ..sdk.client import Client
    from .facts import GateFacts
    from .model import CheckReport
    from .policy import Policy
    from .propagation import LicenceReport
    from .runner import Clock


def is_remote(client: Client) -> bool:
    return not client.store.capabilities.graph_access


def facts(client: Client) -> GateFacts:
    from .facts import RemoteFacts, SqlFacts

    return RemoteFacts(client.store) if is_remote(client) else SqlFacts(client.store)


def artifact_of(client: Client, ref: str | Artifact) -> Artifact:
    node = client.resolve(ref) if isinstance(ref, str) else ref
    if not isinstance(node, Artifact):
        raise ValidationError("ref", f"{ref} is a run: pass an artifact (a dataset, a model)")
    return node


def policy_for(client: Client, policy: Policy | str | Path | None) -> Policy:
    """The policy given, or ``mlineage.policy.yaml`` in the project (or the working folder and above)."""
    from .policy import POLICY_FILE, Policy, find_policy, load_policy

    if isinstance(policy, Policy):
        return policy
    if policy is not None:
        return load_policy(policy)
    root = client.settings.project_root or Path.cwd()
    found = find_policy(Path(root))
    if found is None:
        raise ConfigError(f"no {POLICY_FILE} in {root} or above: write one (docs/gates.md) or pass --policy")
    try:  # named as the user would type it: relative to the working folder when inside it
        found = found.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        pass
    return load_policy(found)


def run_check(
    client: Client,
    refs: Sequence[str | Artifact],
    policy: Policy | str | Path | None,
    record: bool,
    clock: Clock | None,
) -> CheckReport:
    from .runner import run_policy, utc_clock

    return run_policy(client, policy_for(client, policy), refs, clock=clock or utc_clock, record=record)


def licence_report(client: Client, ref: str | Artifact, as_of: str | int | None = None) -> LicenceReport:
    from .propagation import LicenceReport
    from .propagation import licence_report as compute

    if is_remote(client):
        from ..stores.remote.queries import wire_ref

        body = {"ref": wire_ref(ref), "as_of": as_of}
        return LicenceReport.from_dict(client.store.request("POST", "/gates/licence", json=body))  # type: ignore[attr-defined]
    from .facts import SqlFacts

    node = artifact_of(client, ref)
    return compute(client.graph, client.store, SqlFacts(client.store), node, client.as_of_seq(as_of))


def record(client: Client, event_type: str, payload: dict[str, Any]) -> None:
    client.append([NewEvent(event_type, payload)])
    client.write_checkpoint()  # the project's anchor follows the ledger, as after ``add``


def set_owner(client: Client, target: str, owner: str) -> str:
    """Record ``owner`` for an artifact (a REF naming one version: by digest) or for every version of a name
    (a bare name); returns the target recorded."""
    if "@" in target or target.startswith("sha256:"):
        key = str(artifact_of(client, target).digest)
    else:
        found = client.store.get_version(target)
        key = target if found is not None else str(artifact_of(client, target).digest)
    record(client, "OwnerSet", {"target": key, "owner": owner})
    return key


def owner_of(client: Client, ref: str | Artifact) -> str | None:
    node = artifact_of(client, ref)
    keys = [str(node.digest)] + ([node.name] if node.name else [])
    found = facts(client).owners(keys)
    return next((found[k] for k in keys if k in found), None)


def check(
    refs: str | Artifact | Sequence[str | Artifact] = (),
    *,
    policy: Policy | str | Path | None = None,
    record: bool = True,
) -> CheckReport:
    """``mlineage.check(ref)``: the project's policy on ``ref`` with the default client; typed results."""
    from ..sdk.client import default_client

    return default_client().check(refs, policy=policy, record=record)
