"""The one append pipeline: validate → redact → stamp → seal → project.

Every writer goes through here: the ``Client`` (the SDK, the CLI, OpenLineage and every other shell), the data
commands' lean SQLite writer (``Workspace``), the server's append endpoint, its ingestion inbox, and the
server's admin actions (tokens created and revoked), so that nothing reaches the ledger unvalidated or
unredacted whichever way it came, and every change is in the hash chain.

The first three steps are pure and happen here (``prepare``); the last two happen inside the store's write
transaction, under the ledger lock, because sealing needs the current head and projecting needs the current
tables (``Projector.append_batch``). A prepared batch is a ``Prepared`` list: a store seals it as it is, and
validates anything else itself, so a batch is validated once on its way in, not once per layer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from .capture.redact import redact_payload
from .events import NewEvent, StoredEvent, validated_payload


class Prepared(list[NewEvent]):
    """Events that went through ``prepare``: valid, redacted and stamped with an actor."""


class Appender(Protocol):
    """What the pipeline writes to: a ``MetadataStore`` or the lean ``SqliteLedger``."""

    def append(self, events: Sequence[NewEvent]) -> list[StoredEvent]: ...


def default_actor() -> str:
    from .capture.basic import actor  # user@host, computed once per process

    return actor()


def prepare(events: Iterable[NewEvent], actor: Callable[[], str] = default_actor) -> Prepared:
    """Validate (by each event's spec), redact (the fields the spec names) and stamp the actor of events that
    have none. Raises ``ValidationError`` naming the first bad field; nothing is written then."""
    if isinstance(events, Prepared):
        return events
    out = Prepared()
    stamp: str | None = None
    for e in events:
        payload = redact_payload(e.type, validated_payload(e))
        who = e.actor
        if who is None:
            who = stamp = stamp or actor()
        out.append(NewEvent(e.type, payload, e.id, e.ts, who, e.v))
    return out


def checked(events: Sequence[NewEvent]) -> Sequence[NewEvent]:
    """What a store seals: a prepared batch as it is, anything else validated (and not redacted: a store
    written to directly records what it is given)."""
    if isinstance(events, Prepared):
        return events
    return [NewEvent(e.type, validated_payload(e), e.id, e.ts, e.actor, e.v) for e in events]


def append(target: Appender, events: Iterable[NewEvent],
           check: Callable[[Prepared], Any] | None = None) -> list[StoredEvent]:
    """Prepare ``events`` and append them to ``target`` in one transaction (sealed and projected there).
    ``check`` sees the prepared batch first and may refuse it by raising (the server's namespace check)."""
    batch = prepare(events)
    if not batch:
        return []
    if check is not None:
        check(batch)
    return target.append(batch)
