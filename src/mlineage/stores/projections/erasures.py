"""The erasure check: a ``PayloadErased`` event projects nothing, but must name an earlier event exactly.

An erasure names the event whose payload may go by id, seq and payload digest (``mlineage.erasure``); one
that names no earlier event of this ledger, or names it with another seq or digest, is refused with its batch,
so an erasure can never be re-aimed at another event. It owns no tables (``rebuild`` has nothing to drop).
"""

from __future__ import annotations

from typing import Any

from ...erasure import PAYLOAD_ERASED
from ...errors import ValidationError
from ...events import StoredEvent
from .base import Handler, Projection


class ErasuresProjection(Projection):
    name = "erasures"

    def handlers(self) -> dict[str, Handler]:
        return {PAYLOAD_ERASED: self._payload_erased}

    def _payload_erased(self, e: StoredEvent, p: dict[str, Any]) -> None:
        row = self.writer.one("SELECT seq, payload_sha256 FROM events WHERE id = :id", {"id": p["event_id"]})
        if row is None or int(row[0]) != p["seq"] or row[1] != p["payload_sha256"] or int(row[0]) >= e.seq:
            raise ValidationError(
                "event_id",
                f"PayloadErased names event {p['event_id']} at seq {p['seq']} with "
                f"payload digest {p['payload_sha256']}, which is not an earlier event of this "
                "ledger",
                "copy event_id, seq and payload_sha256 from the event to erase",
            )
