"""The namespace index: which namespace each created key (run id, artifact digest, a feature's key) is in.

The server tags every event it appends with the writer's namespace in the hash-chained ``actor`` field,
``"<client actor> via <token> [ns:<namespace>]"``; events without a tag (appended straight into the database,
by a local CLI) belong to ``default``. A key belongs to every namespace that created it (two teams may record
the same bytes). The server reads this index to decide what a token may see (``server/namespaces.py``).
"""

from __future__ import annotations

import re
from typing import Any

from ...catalogue import EventSpec, no_keys
from ...events import StoredEvent
from .base import Handler, Projection

DEFAULT_NAMESPACE = "default"
_TAG = re.compile(r"\[ns:([^\]]+)\]$")


def namespace_of(actor: str | None) -> str:
    """The namespace an event was written in, from its actor tag."""
    match = _TAG.search(actor or "")
    return match.group(1) if match else DEFAULT_NAMESPACE


class NamespacesProjection(Projection):
    """Owns ``server_namespace_objects``; folds every event type whose spec creates keys."""

    name = "namespaces"
    tables = ("server_namespace_objects",)
    follows_all = True

    def __init__(self, writer: Any) -> None:
        super().__init__(writer)
        self._seen: set[tuple[str, str]] = set()
        conflict = "ON CONFLICT DO NOTHING" if writer.postgres else ""
        verb = "INSERT" if writer.postgres else "INSERT OR IGNORE"
        self._insert = (f"{verb} INTO server_namespace_objects (namespace, key, seq) "
                        f"VALUES (:ns, :key, :seq) {conflict}")

    def handler(self, spec: EventSpec) -> Handler | None:
        if spec.creates is no_keys:
            return None
        creates = spec.creates

        def index(e: StoredEvent, p: dict[str, Any]) -> None:
            namespace = namespace_of(e.actor)
            for key in creates(p):
                if (namespace, key) not in self._seen:
                    self.writer.execute(self._insert, {"ns": namespace, "key": key, "seq": e.seq})
                    self._seen.add((namespace, key))

        return index

    def cached(self) -> int:
        return len(self._seen)
