"""LLM and special lineage: training corpora as Merkle trees, fine-tune and transfer chains with
Hugging Face's ``base_model_relation`` edges, and online learning batched into Merkle checkpoints.

Pure modules: ``merkle`` (RFC 9162 trees and proofs), ``corpus`` (documents, shards, corpus digests),
``online`` (packet batches). I/O: ``corpus_source`` (shard files), ``records`` (projection reads),
``service`` (what the Client's methods do), ``recorder`` (``OnlineRecorder``). ``events`` declares the
event types and projections; the catalogue imports it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["OnlineRecorder"]


def __getattr__(name: str) -> Any:
    if name == "OnlineRecorder":
        from .recorder import OnlineRecorder

        return OnlineRecorder
    raise AttributeError(name)
