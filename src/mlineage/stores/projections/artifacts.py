"""Artifacts (one row per digest) and the name/version labels that point at them."""

from __future__ import annotations

import json
from typing import Any

from ... import events as ev
from ...errors import NotFoundError, ValidationError
from ...events import StoredEvent
from ...model import NodeKind
from .base import Handler, Projection


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class ArtifactsProjection(Projection):
    """Owns ``artifacts`` and ``versions``. An artifact's first record fixes its kind, size and metadata; its
    first *named* record gives it its label; every name adds a version (the same content under a name keeps
    its version)."""

    name = "artifacts"
    tables = ("artifacts", "versions")

    def __init__(self, writer: Any) -> None:
        super().__init__(writer)
        self._artifacts: dict[str, tuple[int, bool]] = {}  # digest -> (first node id, has a name)
        self._newest: dict[str, int] = {}  # digest -> newest occurrence's node, for digests with several

    def handlers(self) -> dict[str, Handler]:
        return {ev.ARTIFACT_RECORDED: self._artifact_recorded}

    def cached(self) -> int:
        return len(self._artifacts) + len(self._newest)

    def known(self, digest: str) -> tuple[int, bool] | None:
        """(node id, whether it has a name) of a recorded artifact, or None."""
        known = self._artifacts.get(digest)
        if known is None:
            # the same look-up as before occurrences existed: the newest one comes with it (an index probe)
            row = self.writer.one(
                "SELECT a.node_id, a.name, "
                "(SELECT MAX(o.node_id) FROM occurrences o WHERE o.digest = a.digest) "
                "FROM artifacts a WHERE a.digest = :d", {"d": digest})
            if row is None:
                return None
            known = self._artifacts[digest] = (int(row[0]), row[1] is not None)
            if row[2] is not None:
                self._newest[digest] = int(row[2])
        return known

    def node_of(self, digest: str, field: str) -> int:
        """The node id of a recorded artifact, or ``NotFoundError`` naming the payload field."""
        known = self.known(digest)
        if known is None:
            raise NotFoundError(f"{field}: artifact {digest} is not recorded (record it before linking it)")
        return known[0]

    def newest_of(self, digest: str, field: str) -> int:
        """The node of the digest's newest occurrence (its only node unless the same content was produced
        again downstream of itself: see ``GraphProjection``)."""
        first = self.node_of(digest, field)
        return self._newest.get(digest, first)

    def occurrences_of(self, digest: str, field: str) -> list[int]:
        """Every node of the digest, oldest first (the rare path: only content produced again reaches it)."""
        first = self.node_of(digest, field)
        if digest not in self._newest:
            return [first]
        reader = self.writer.reader
        sql = "SELECT node_id FROM occurrences WHERE digest = {} ORDER BY ordinal"
        reader.execute(sql.format("%s" if self.writer.postgres else "?"), (digest,))
        return [first, *(int(row[0]) for row in reader.fetchall())]

    def add_occurrence(self, digest: str, node_id: int) -> None:
        self._newest[digest] = node_id

    def _artifact_recorded(self, e: StoredEvent, p: dict[str, Any]) -> None:
        digest = p["digest"]
        name = p.get("name")
        version = self._register_version(name, digest, p.get("version"), e.seq) if name is not None else None
        known = self.known(digest)
        if known is not None:
            if name is not None and not known[1]:
                self.writer.execute("UPDATE artifacts SET name = :n, version = :v WHERE digest = :d",
                                    {"n": name, "v": version, "d": digest})
                self._artifacts[digest] = (known[0], True)
            return
        node_id = self.writer.projection("graph").node(NodeKind.ARTIFACT, digest, e.seq)
        self.writer.execute(
            "INSERT INTO artifacts (digest, node_id, kind, size, name, version, media_type, uri, metadata, "
            "created_seq, created_at) VALUES (:digest, :node_id, :kind, :size, :name, :version, :media_type, "
            ":uri, :metadata, :seq, :ts)",
            {"digest": digest, "node_id": node_id, "kind": p["kind"], "size": p.get("size"), "name": name,
             "version": version, "media_type": p.get("media_type"), "uri": p.get("uri"),
             "metadata": _json(p.get("metadata", {})), "seq": e.seq, "ts": e.ts},
        )
        self._artifacts[digest] = (node_id, name is not None)

    def _register_version(self, name: str, digest: str, wanted: int | None, seq: int) -> int:
        one = self.writer.one
        row = one("SELECT version FROM versions WHERE name = :n AND digest = :d", {"n": name, "d": digest})
        if row is not None:
            if wanted is not None and wanted != row[0]:
                raise ValidationError("version", f"{name} already has this content as version {row[0]}")
            return int(row[0])
        if wanted is not None:
            if one("SELECT 1 FROM versions WHERE name = :n AND version = :v", {"n": name, "v": wanted}):
                raise ValidationError("version", f"{name}@{wanted} already names different content")
            version = wanted
        else:
            latest = one("SELECT MAX(version) FROM versions WHERE name = :n", {"n": name})[0]
            version = (latest or 0) + 1
        self.writer.execute(
            "INSERT INTO versions (name, version, digest, created_seq) VALUES (:n, :v, :d, :seq)",
            {"n": name, "v": version, "d": digest, "seq": seq},
        )
        return version
