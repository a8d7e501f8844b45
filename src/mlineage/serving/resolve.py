"""Refs in a trace → digests, as they stand now: a registry alias to the version and digest it names, an
artifact ``name@N`` to its digest. Answers are cached for a few seconds, so a recorder writing thousands of
traces a second asks the store about each ref once per interval, not once per trace.

A ref that cannot be resolved (unknown, or the store unreachable) is left as the caller wrote it; the
projection tries registry refs again when the batch is appended (``events.py``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..errors import MlineageError, StoreUnavailableError

if TYPE_CHECKING:
    from ..sdk.client import Client

DEFAULT_TTL_S = 5.0


class Resolver:
    def __init__(self, client: Client, ttl: float = DEFAULT_TTL_S) -> None:
        self.client = client
        self.ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}

    def fill(self, trace: dict[str, Any]) -> dict[str, Any]:
        """The trace with the digests of its model, index and prompt refs where they resolve."""
        if trace.get("model") and not trace.get("model_digest"):
            trace.update(self._cached("model", trace["model"]))
        for what in ("index", "prompt"):
            if trace.get(what) and not trace.get(f"{what}_digest"):
                trace.update(self._cached(what, trace[what]))
        return trace

    def _cached(self, what: str, ref: str) -> dict[str, Any]:
        now = time.monotonic()
        found = self._cache.get((what, ref))
        if found is not None and found[0] > now:
            return found[1]
        try:
            value = self._model(ref) if what == "model" else self._artifact(ref, what)
            ttl = self.ttl
        except StoreUnavailableError:
            value, ttl = (found[1] if found is not None else {}), 1.0  # stale beats nothing; ask again soon
        except (MlineageError, ValueError):
            value, ttl = {}, self.ttl
        except Exception:  # noqa: BLE001 - a database error (locked, connection lost): unresolved for now
            value, ttl = (found[1] if found is not None else {}), 1.0
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[(what, ref)] = (now + ttl, value)
        return value

    def _model(self, ref: str) -> dict[str, Any]:
        if ref.startswith("sha256:"):
            return {"model_digest": ref} if len(ref) == 71 else {}
        from ..registry.model import looks_like_version, split_ref
        from ..registry.records import records_for

        parts = split_ref(ref)
        if parts is None:
            return {}
        name, _, text = parts
        records = records_for(self.client.store)
        if text.isdigit():
            row = next((v for v in records.versions(name) if v["version"] == int(text)), None)
        elif not looks_like_version(text):
            row = next((a for a in records.aliases(name) if a["alias"] == text), None)
        else:
            return self._artifact(ref, "model")
        if row is None:  # not a registered model: an artifact's own name@N, if it is one
            return self._artifact(ref, "model") if text.isdigit() else {}
        return {"model_name": name, "model_version": int(row["version"]), "model_digest": row["digest"]}

    def _artifact(self, ref: str, what: str) -> dict[str, Any]:
        """``sha256:<hex>``, ``name@N``, ``name@latest`` or ``name`` (its latest version) of a recorded
        artifact; never a path (a serving process's refs are not files to hash)."""
        if ref.startswith("sha256:"):
            return {f"{what}_digest": ref} if len(ref) == 71 else {}
        name, sep, version = ref.rpartition("@")
        if not sep:
            name, version = ref, "latest"
        if not version.isdigit() and version != "latest":
            return {}
        found = self.client.store.get_version(name, None if version == "latest" else int(version))
        return {} if found is None else {f"{what}_digest": str(found.digest)}
