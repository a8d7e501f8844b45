"""LLM and special lineage: training corpora as Merkle trees, fine-tune and transfer chains with
Hugging Face's ``base_model_relation`` edges, online learning batched into Merkle checkpoints, embedding index
versions, federated rounds and human-in-the-loop edits.

Pure modules: ``merkle`` (RFC 9162 trees and proofs), ``corpus`` (documents, shards, corpus digests),
``online`` (packet batches), ``chunking`` (embedding index chunks and digests), ``federated`` (pseudonymous
client updates, strategy identity), ``hitl`` (human edits, label exports). I/O: ``corpus_source`` (shard
files), ``records`` (projection reads), ``service`` (what the Client's methods do), ``recorder``
(``OnlineRecorder``), ``embedders`` and ``vectorstore`` (all-MiniLM-L6-v2, LanceDB: loaded lazily),
``indexes``, ``federated_recorder`` (``FederatedRecorder``), ``edits``. ``events`` and ``special_events``
declare the event types and projections; the catalogue imports them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["OnlineRecorder"]


def __getattr__(name: str) -> Any:
    if name == "OnlineRecorder":
        from .recorder import OnlineRecorder

        return OnlineRecorder
    raise AttributeError(name)
