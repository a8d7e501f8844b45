"""``FederatedRecorder``: the Python API of federated-learning lineage (the I/O half of ``federated``).

The server side of a federation calls ``record_round`` once per round with the updates it received (each
client's pseudonymous id, the update's bytes and the digest the client declared) and the new global model's
bytes. Every declared digest is checked against its bytes before anything is written; one mismatch refuses
the whole round. The bytes themselves are not stored: the ledger holds digests and sizes only.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import events as ev
from ..errors import ValidationError
from ..events import NewEvent
from ..model import ArtifactKind
from . import special_events as se
from .federated import ClientUpdate, checked_update, strategy_identity
from .records import records_for

if TYPE_CHECKING:
    from ..sdk.client import Client


@dataclass(frozen=True, slots=True)
class ReceivedUpdate:
    """What the server received from one client: its pseudonymous id, the update's bytes, the digest the
    client declared for them and (optionally) how many examples it trained on."""

    client: str
    data: bytes
    declared_digest: str
    examples: int | None = None


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class FederatedRecorder:
    """Records the rounds of one federation (see the module docstring)."""

    def __init__(self, federation: str, strategy: Any, params: Mapping[str, Any] | None = None, *,
                 initial_model: bytes | None = None, client: Client | None = None) -> None:
        if client is None:
            from ..sdk.client import default_client

            client = default_client()
        self.client, self.federation = client, federation
        self.strategy = strategy_identity(strategy, params or {})
        self.model_name = f"{federation}-global"
        self.previous: str | None = _last_global(client, federation)
        self._initial = initial_model if self.previous is None else None

    def record_round(self, number: int, updates: Sequence[ReceivedUpdate], global_model: bytes
                     ) -> dict[str, Any]:
        """Record round ``number``: its updates (checked) and the global model it aggregated."""
        if not updates:
            raise ValidationError("updates", "a round needs at least one client update")
        checked: list[ClientUpdate] = [checked_update(u.client, u.data, u.declared_digest, u.examples)
                                       for u in updates]
        batch: list[NewEvent] = []
        if self._initial is not None:
            self.previous = _digest(self._initial)
            batch.append(self._model_event(self.previous, len(self._initial), 0))
        global_digest = _digest(global_model)
        run_id = uuid.uuid4().hex
        for u in checked:
            batch.append(NewEvent(ev.ARTIFACT_RECORDED, {
                "digest": u.digest, "kind": se.CLIENT_UPDATE.value, "name": f"{self.federation}/{u.client}",
                "size": u.size, "metadata": {"client": u.client, "round": number, "examples": u.examples}}))
        batch.append(self._model_event(global_digest, len(global_model), number))
        batch.append(NewEvent(ev.RUN_STARTED, {
            "run_id": run_id, "job": f"{self.federation} round {number}",
            "kind": se.FEDERATED_ROUND_KIND.value,
            "params": {"federation": self.federation, "group_id": number, "strategy": self.strategy["name"],
                       "strategy_params": json.dumps(self.strategy["params"], sort_keys=True)}}))
        if self.previous is not None:
            batch.append(NewEvent(ev.ARTIFACT_USED, {"run_id": run_id, "digest": self.previous,
                                                     "role": "previous_global"}))
        batch.extend(NewEvent(ev.ARTIFACT_USED, {"run_id": run_id, "digest": u.digest, "role": "update"})
                     for u in checked)
        batch.append(NewEvent(ev.ARTIFACT_PRODUCED, {"run_id": run_id, "digest": global_digest,
                                                     "role": "global"}))
        if self.previous is not None:
            batch.append(NewEvent(ev.ARTIFACT_DERIVED, {"parent": self.previous, "child": global_digest,
                                                        "role": "previous_global"}))
        batch.extend(NewEvent(ev.ARTIFACT_DERIVED, {"parent": u.digest, "child": global_digest,
                                                    "role": "update"}) for u in checked)
        payload: dict[str, Any] = {"federation": self.federation, "round": number, "run_id": run_id,
                                   "global": global_digest, "strategy": self.strategy,
                                   "updates": [u.row() for u in checked]}
        if self.previous is not None:
            payload["previous"] = self.previous
        batch.append(NewEvent(se.FEDERATED_ROUND, payload))
        batch.append(NewEvent(ev.RUN_ENDED, {"run_id": run_id, "status": "completed"}))
        self.client.append(batch)
        self.previous, self._initial = global_digest, None
        return {"federation": self.federation, "round": number, "run_id": run_id, "global": global_digest,
                "previous": payload.get("previous"), "clients": len(checked),
                "strategy": self.strategy}

    def _model_event(self, digest: str, size: int, number: int) -> NewEvent:
        return NewEvent(ev.ARTIFACT_RECORDED, {"digest": digest, "kind": ArtifactKind.MODEL.value,
                                               "name": self.model_name, "size": size,
                                               "metadata": {"federation": self.federation, "round": number}})


def _last_global(client: Client, federation: str) -> str | None:
    found = rounds(client, federation)
    return str(found[-1]["global"]) if found else None


def rounds(client: Client, federation: str) -> list[dict[str, Any]]:
    """A federation's recorded rounds, oldest first, with each client's update (digest and size)."""
    from .service import _remote

    remote = _remote(client, "/llm/federated/rounds", {"federation": federation})
    if remote is not None:
        return list(remote["rounds"])
    records = records_for(client.store)
    found = records.rows("SELECT round, run_id, global_model, previous, strategy, strategy_digest, params "
                         "FROM federated_rounds WHERE federation = :f ORDER BY round", {"f": federation})
    updates = records.rows("SELECT round, client, digest, size, examples FROM federated_updates "
                           "WHERE federation = :f ORDER BY round, client", {"f": federation})
    by_round: dict[int, list[dict[str, Any]]] = {}
    for r, c, d, z, x in updates:
        by_round.setdefault(int(r), []).append({"client": c, "digest": d, "size": int(z), "examples": x})
    return [{"round": int(r), "run_id": run, "global": g, "previous": p,
             "strategy": {"name": sn, "code_digest": sd, "params": json.loads(sp)},
             "updates": by_round.get(int(r), [])} for r, run, g, p, sn, sd, sp in found]
