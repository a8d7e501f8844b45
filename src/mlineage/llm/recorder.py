"""``OnlineRecorder``: the Python API of online-learning lineage.

A model updated on a stream of data packets calls ``update(packet)`` per packet (its bytes, or a digest it
already has); every ``every`` packets, and on ``checkpoint()``, the pending digests become one
``OnlineCheckpoint`` event holding their Merkle root, chained to the model's previous checkpoint. Between
checkpoints nothing is written, so an update costs a hash and a list append.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from .. import events as ev
from ..events import NewEvent
from . import events as llm_events
from .online import Checkpoint, packet_digest

if TYPE_CHECKING:
    from ..sdk.client import Client


class OnlineRecorder:
    """Batches packet digests of one model into checkpoints (see the module docstring)."""

    def __init__(self, model_name: str, every: int = 1000, *, client: Client | None = None) -> None:
        if every < 1:
            raise ValueError("every must be at least 1")
        if client is None:
            from ..sdk.client import default_client

            client = default_client()
        self.client, self.model_name, self.every = client, model_name, every
        self.pending: list[bytes] = []
        self.number, self.previous = _last_checkpoint(client, model_name)

    def update(self, packet: bytes | str) -> str | None:
        """Note one packet; returns the checkpoint's digest when this packet completed a batch."""
        self.pending.append(packet_digest(packet))
        if len(self.pending) >= self.every:
            return self.checkpoint()
        return None

    def checkpoint(self) -> str | None:
        """Write the pending packets as one checkpoint (None when there are none); returns its digest."""
        if not self.pending:
            return None
        batch = Checkpoint(self.model_name, self.number + 1, tuple(self.pending))
        digest = batch.digest
        payload: dict[str, Any] = {"digest": digest, "model": self.model_name, "number": batch.number,
                                   "leaves": batch.packed()}
        if self.previous is not None:
            payload["previous"] = self.previous
        self.client.append([
            NewEvent(ev.ARTIFACT_RECORDED, {"digest": digest, "kind": llm_events.ONLINE_CHECKPOINT_KIND.value,
                                            "name": self.model_name,
                                            "metadata": {"packets": len(batch.leaves),
                                                         "number": batch.number}}),
            NewEvent(llm_events.ONLINE_CHECKPOINT, payload)])
        self.number, self.previous, self.pending = batch.number, digest, []
        return digest

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.checkpoint()


def _last_checkpoint(client: Client, model: str) -> tuple[int, str | None]:
    from ..errors import ConfigError
    from .records import records_for

    try:
        rows = records_for(client.store).rows(
            "SELECT number, digest FROM online_checkpoints WHERE model = :m ORDER BY number DESC LIMIT 1",
            {"m": model})
    except ConfigError:
        return 0, None
    return (int(rows[0][0]), str(rows[0][1])) if rows else (0, None)
