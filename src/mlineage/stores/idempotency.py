"""Retries are idempotent, conflicts are not silent: what happens to an event whose id is already recorded.

Writers choose event ids so that a retried batch (a timeout, a spool replayed after an outage) is recognised
and written once. That only holds for the *same* event: an id that comes back with another type or payload is
a bug or a forgery, and dropping it silently would lose whatever it said. So a known id is skipped only when
its content matches what the ledger holds (same type, version and payload); otherwise the whole batch is
refused, naming the id. Not compared: the event's time and actor, and the payload times validation fills in
from the clock when a writer leaves them out (``started_at``, ``ended_at``, a metric's ``ts``): a server
stamps those on receipt, so a retry that left them out gets new ones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..catalogue import SPECS
from ..errors import EventConflictError
from ..events import NewEvent

__all__ = ["EventConflictError", "new_only"]


_CLOCK_FILLED = ("started_at", "ended_at")


def _without_clock_fields(payload: Any) -> Any:
    if not isinstance(payload, dict):
        return payload
    out = {k: v for k, v in payload.items() if k not in _CLOCK_FILLED}
    if isinstance(out.get("metrics"), list):
        out["metrics"] = [{k: v for k, v in m.items() if k != "ts"} if isinstance(m, dict) else m
                          for m in out["metrics"]]
    return out


def _same_apart_from_clock(recorded_text: str | None, payload: Any) -> bool:
    from ..ledger import canonical_json

    if recorded_text is None:  # an erased payload: nothing left to compare but the type
        return True
    recorded = json.loads(recorded_text)
    mine = json.loads(canonical_json(payload))
    return bool(_without_clock_fields(recorded) == _without_clock_fields(mine))


def new_only(
    checked: Sequence[NewEvent], known: Mapping[str, tuple[str, int, str, str | None]]
) -> list[NewEvent]:
    """The events of ``checked`` whose id is not in ``known`` (id -> type, v, payload_sha256 and payload text
    as recorded); EventConflictError when a known id carries other content."""
    from ..ledger import canonical_json, payload_digest

    fresh = []
    for event in checked:
        recorded = known.get(event.id)
        if recorded is None:
            fresh.append(event)
            continue
        spec = SPECS.get(event.type)
        canonical = spec.canonical(event.payload) if spec is not None and spec.canonical is not None else None
        digest = payload_digest(canonical if canonical is not None else canonical_json(event.payload))
        if recorded[:2] != (event.type, event.v) or (
                recorded[2] != digest and not _same_apart_from_clock(recorded[3], event.payload)):
            raise EventConflictError(
                f"event id {event.id} is already in the ledger with other content (a {recorded[0]} with "
                "payload "
                f"sha256 {recorded[2][:16]}..., not this {event.type}): a retry must resend the same event, "
                "and a "
                "new event needs a new id; nothing in this batch was written"
            )
    return fresh
