"""``--as-of``: the graph as it stood at a moment. The ledger orders every write, so a moment is a ledger seq;
a timestamp maps to the last seq whose event time is at or before it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..errors import ValidationError

if TYPE_CHECKING:
    from ..stores.protocol import MetadataStore

LEDGER_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # events.utc_now: fixed width, so text order is time order


def parse_timestamp(text: str) -> str:
    """An ISO 8601 time (date only = midnight; no zone = UTC) as the ledger writes times."""
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        raise ValidationError(
            "as_of",
            f"{text!r} is not a timestamp",
            "write 2026-05-01, 2026-05-01T12:00:00Z, or seq:1234 for a ledger seq",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(LEDGER_TS_FORMAT)


def as_of_seq(store: MetadataStore, as_of: str | int | None) -> int | None:
    if as_of is None:
        return None
    if isinstance(as_of, bool):
        raise ValidationError("as_of", "must be a timestamp or a ledger seq")
    if isinstance(as_of, int):
        if as_of < 0:
            raise ValidationError("as_of", f"seq {as_of} is negative")
        return as_of
    text = as_of.strip()
    if text.startswith("seq:"):
        number = text[4:]
        if not number.isdigit():
            raise ValidationError("as_of", f"{text!r}: seq must be a whole number", "write seq:1234")
        return int(number)
    return store.seq_at(parse_timestamp(text))
