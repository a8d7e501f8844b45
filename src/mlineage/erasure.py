"""Erasure: how a payload may leave the ledger without making the ledger unverifiable.

The chain commits to each payload's SHA-256, not its bytes, so a payload can be removed (personal data, a
leaked secret) and the chain still verifies. That must not let anyone delete data quietly: a missing payload
is valid only when a ``PayloadErased`` event, appended *before* the payload is removed, names it. The event
says who (its ``actor``, and ``authorised_by``: the person or role that approved it), when (its ``ts``), why
(``reason``, and optionally a ``ticket``), and which event (``event_id``, ``seq`` and the erased payload's
``payload_sha256``, so it cannot be re-aimed at another event). On a server only an admin token may append
one.

``verify`` then fails on any event without a payload that no later erasure event names, in the store and in
exports alike. Removing the bytes themselves is the erase command's job (it needs the
append-only triggers' cooperation); this module defines the record it must leave.

This module imports nothing from the event catalogue, so that the catalogue can import it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .errors import ValidationError

PAYLOAD_ERASED = "PayloadErased"
_HEX = frozenset("0123456789abcdef")


def _text(p: Mapping[str, Any], key: str, max_len: int, required: bool = True) -> str | None:
    value = p.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise ValidationError(
            key, f"must be a non-empty string of at most {max_len} characters, got {value!r}"
        )
    return value


def validate_erasure(p: Mapping[str, Any]) -> dict[str, Any]:
    """The payload of a ``PayloadErased`` event, normalised; ValidationError naming the field otherwise."""
    seq = p.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise ValidationError("seq", f"must be the erased event's seq (an integer >= 1), got {seq!r}")
    digest = p.get("payload_sha256")
    if not isinstance(digest, str) or len(digest) != 64 or not set(digest) <= _HEX:
        raise ValidationError(
            "payload_sha256", "must be the erased payload's SHA-256 (64 lowercase hex digits)"
        )
    out: dict[str, Any] = {
        "event_id": _text(p, "event_id", 64), "seq": seq, "payload_sha256": digest,
        "reason": _text(p, "reason", 2000), "authorised_by": _text(p, "authorised_by", 500),
    }
    ticket = _text(p, "ticket", 500, required=False)
    if ticket is not None:
        out["ticket"] = ticket
    return out


class ErasureLedger:
    """What a chain walk needs to decide whether each missing payload was erased with authority: the events
    without a payload, and the erasure events, both by event id; resolved once the walk has seen them all."""

    def __init__(self) -> None:
        self.missing: dict[str, tuple[int, str]] = {}  # event id -> (seq, payload_sha256)
        self.erasures: dict[str, tuple[int, int, str]] = {}  # erased event id -> (erasure seq, seq, sha256)
        self.details: dict[str, dict[str, Any]] = {}  # erased event id -> what verify reports about it
        self.types: dict[str, str] = {}  # event id without a payload -> its type

    def saw(self, seq: int, event_id: str, type_: str, payload_sha256: str, payload_text: str | None,
            actor: str | None = None, ts: str | None = None) -> None:
        if payload_text is None:
            self.missing[event_id] = (seq, payload_sha256)
            self.types[event_id] = type_
        elif type_ == PAYLOAD_ERASED:
            try:
                named = json.loads(payload_text)
                self.erasures[named["event_id"]] = (seq, named["seq"], named["payload_sha256"])
                self.details[named["event_id"]] = {
                    "erasure_seq": seq, "by": actor, "at": ts, "reason": named.get("reason"),
                    "authorised_by": named.get("authorised_by"), "ticket": named.get("ticket")}
            except (ValueError, KeyError, TypeError):
                pass  # a malformed erasure authorises nothing (its payload hash was checked already)

    def erased(self) -> list[dict[str, Any]]:
        """What was erased, when and by whom: each removed payload an erasure event authorised, by seq."""
        out = [dict(self.details[event_id], seq=seq, type=self.types[event_id])
               for event_id, (seq, digest) in self.missing.items() if self._authorised(event_id, seq, digest)]
        return sorted(out, key=lambda e: e["seq"])

    def first_unauthorised(self) -> tuple[int, str] | None:
        """(seq, id) of the first event whose payload is gone without an erasure event naming it."""
        bad = [(seq, event_id) for event_id, (seq, digest) in self.missing.items()
               if not self._authorised(event_id, seq, digest)]
        return min(bad) if bad else None

    def _authorised(self, event_id: str, seq: int, digest: str) -> bool:
        found = self.erasures.get(event_id)
        return found is not None and found[0] > seq and found[1] == seq and found[2] == digest


def erasure_event_payload(seq: int, event_id: str, payload_sha256: str, reason: str, authorised_by: str,
                          ticket: str | None = None) -> dict[str, Any]:
    """The payload of the event that authorises erasing event ``seq``'s payload (append it first)."""
    payload = {"event_id": event_id, "seq": seq, "payload_sha256": payload_sha256, "reason": reason,
               "authorised_by": authorised_by}
    if ticket is not None:
        payload["ticket"] = ticket
    return payload
