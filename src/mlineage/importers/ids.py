"""Deterministic event ids and placeholder digests: the same source record always maps to the same ids."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from ..ledger import canonical_json

_NAMESPACE = uuid.UUID("6f1c2a4e-9b7d-5c3e-8a10-4d2b6e8f0a17")


def event_id(source: str, *parts: Any) -> str:
    """A version 5 UUID (32 hex digits) over the source's name and the record's identity."""
    return uuid.uuid5(_NAMESPACE, source + "\x1f" + "\x1f".join(str(p) for p in parts)).hex


def fingerprint(value: Any) -> str:
    """The sha256 of a JSON value's canonical form: what a unit held when it was imported."""
    return hashlib.sha256(canonical_json(value)).hexdigest()


def placeholder_digest(identity: str) -> str:
    """A sha256 digest standing for content mlineage has not seen (only the source's own digest is known).
    Derived from the identity so that every import of the same record names the same node."""
    return "sha256:" + hashlib.sha256(b"mlineage-placeholder\x00" + identity.encode()).hexdigest()
