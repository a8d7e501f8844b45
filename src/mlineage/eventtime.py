"""An event's time: what a writer may claim, and which time orders the ledger for ``--as-of``.

``ts`` is the writer's claim about when the event happened, kept as written (it is hashed into the chain).
It must be an RFC 3339 time with a zone, so that it means one moment. A client's clock can be wrong or lie,
though, so time travel does not use it: each event also gets ``recorded_at``, the time the store wrote it
(the server's receive time, for events sent to a server), and ``seq_at(T)`` maps a moment to a seq by that.
A server further refuses claims no real clock makes: before 2000, or more than a day ahead of its own.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from .errors import ValidationError

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$", re.ASCII)
_DIGITS = re.compile(r"\d+", re.ASCII)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)


def parse_event_time(ts: object, field: str = "ts") -> datetime:
    """The moment an event's ``ts`` names; ValidationError unless it is an RFC 3339 time with a zone."""
    if (type(ts) is str and len(ts) == 27 and ts[19] == "." and ts[26] == "Z" and ts[10] == "T"
            and ts[4] == ts[7] == "-" and ts[13] == ts[16] == ":"):
        # As every SDK writes it (every event passes here): with the separators in place, Python's parser
        # accepts exactly the digits the pattern below would, for less than the pattern costs.
        try:
            return datetime.fromisoformat(ts)
        except ValueError:
            pass  # the general path says what is wrong
    if type(ts) is not str or not _RFC3339.match(ts):
        raise ValidationError(field, f"{ts!r} is not an RFC 3339 time with a zone",
                              "write it as 2026-05-01T12:00:00.000000Z")
    text = ts[:-1] + "+00:00" if ts.endswith("Z") else ts
    if "." in text:  # Python takes at most 6 fractional digits
        head, rest = text.split(".", 1)
        digits = _DIGITS.match(rest)
        assert digits is not None
        text = f"{head}.{digits.group()[:6].ljust(6, '0')}{rest[digits.end():]}"
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(field, f"{ts!r} is not a real time ({exc})") from None


def check_claimed_time(ts: str, received: datetime, field: str = "ts") -> None:
    """Refuse a time no working clock would claim for an event received at ``received`` (a server's check)."""
    moment = parse_event_time(ts, field)
    if moment < EARLIEST:
        raise ValidationError(field, f"{ts} is before {EARLIEST:%Y}: not a time this event can have happened",
                              "check the client's clock")
    if moment > received + FUTURE_SLACK:
        raise ValidationError(field, f"{ts} is more than a day after the server's time "
                              f"{received:%Y-%m-%dT%H:%M:%SZ}", "check the client's clock")
