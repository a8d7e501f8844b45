"""Federated learning lineage, pure: client updates by digest, pseudonymous client ids, the aggregation
strategy's identity.

A round (Flower's ``group_id``) is recorded as a run: each client's update by its SHA-256 digest and size
and a pseudonymous client id, never the update's bytes and never the client's data; the strategy by the
digest of its source code and its parameters; the round's global model ``DERIVED_FROM`` the previous global
model and the round's updates. A client id is made pseudonymous with a keyed hash (HMAC-SHA-256 under a
secret the federation keeps), so the same client has the same id in every round without its real id in the
ledger.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationError

CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def pseudonym(raw_client_id: str, secret: bytes) -> str:
    """A stable pseudonymous id for a client: ``client-`` + 16 hex digits of HMAC-SHA-256(secret, id)."""
    if not secret:
        raise ValidationError("secret", "a pseudonym needs a non-empty secret")
    return "client-" + hmac.new(secret, raw_client_id.encode(), hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class ClientUpdate:
    """One client's contribution to a round, as recorded: no bytes."""

    client: str
    digest: str  # sha256:<hex> of the serialized update
    size: int
    examples: int | None = None

    def row(self) -> list[Any]:
        return [self.client, self.digest, self.size, self.examples]


def checked_update(client: str, data: bytes, declared: str, examples: int | None = None) -> ClientUpdate:
    """The record of an update whose bytes are at hand: its declared digest must be theirs."""
    if not CLIENT_ID.match(client):
        raise ValidationError("client", f"{client!r} is not a client id (letters, digits, . _ -; at most 64)",
                              "pass a pseudonym (federated.pseudonym), never a raw identity")
    actual = "sha256:" + hashlib.sha256(data).hexdigest()
    if declared.removeprefix("sha256:") != actual.removeprefix("sha256:"):
        raise ValidationError("updates", f"{client}'s update declares {declared} but its {len(data)} bytes "
                                         f"hash to {actual}", "nothing was recorded for this round")
    return ClientUpdate(client, actual, len(data), examples)


def strategy_identity(strategy: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """The aggregation strategy as recorded: its name, the SHA-256 of its source code (a class or function)
    and its parameters."""
    target = strategy if inspect.isclass(strategy) or inspect.isfunction(strategy) else type(strategy)
    try:
        source = inspect.getsource(target)
    except (OSError, TypeError):
        source = f"{target.__module__}.{target.__qualname__}"
    code_digest = "sha256:" + hashlib.sha256(source.encode()).hexdigest()
    return {"name": target.__qualname__, "code_digest": code_digest, "params": dict(params)}


def updates_from_payload(rows: Any) -> list[ClientUpdate]:
    """The updates of a ``FederatedRound`` payload, checked: distinct pseudonymous clients, digests, sizes."""
    if not isinstance(rows, list) or not rows:
        raise ValidationError("updates", "a round needs at least one client update")
    out, seen = [], set()
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != 4:
            raise ValidationError(f"updates[{i}]", "must be [client, digest, size, examples]")
        client, digest, size, examples = row
        if not isinstance(client, str) or not CLIENT_ID.match(client):
            raise ValidationError(f"updates[{i}]", f"{client!r} is not a pseudonymous client id")
        if client in seen:
            raise ValidationError(f"updates[{i}]", f"client {client} sent two updates in one round")
        seen.add(client)
        if not isinstance(digest, str) or not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            raise ValidationError(f"updates[{i}]", "digest must be sha256:<64 hex>")
        for key, value in (("size", size), ("examples", examples)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValidationError(f"updates[{i}]", f"{key} must be an integer >= 0")
        if size is None:
            raise ValidationError(f"updates[{i}]", "size is required")
        out.append(ClientUpdate(client, digest, size, examples))
    return out
