"""Blob grants: a namespace reads the bytes of a blob only after it proved it has them.

Digests are not secrets (pointer files, exports and OpenLineage facets carry them), so knowing one, or
recording an artifact under one, grants nothing. What grants is proof of possession: the namespace sent
the bytes and the server hashed them to the digest (a ``PUT`` or a completed upload session). The server
then writes (namespace, digest) to ``server_blob_grants``; the artifact store still keeps one copy of the
bytes whatever number of namespaces sent them.

There is no cheaper proof than sending the bytes: a namespace that has no grant for a digest the server
already stores must upload it again (``HEAD`` says 404 to it), which costs bandwidth, not storage. A
challenge (the hash of a nonce and the bytes) would save the upload but cost the server a full read of the
blob per proof, from S3 as often as not; the simple rule is sound and keeps one code path.

``NamespacedBlobs`` is the artifact store as one namespace sees it: ``has`` and ``open`` answer for granted
blobs only, so neither ``HEAD /blobs``, ``/blobs/missing``, an upload session's ``exists`` nor ``closure``
tells a namespace what another one stored. Tokens for every namespace (``*``) see the store itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Engine, and_, select, text

from ..blobs.protocol import BlobStore
from ..errors import NotFoundError
from ..events import utc_now
from ..model import Digest
from ..stores.schema import server_blob_grants

__all__ = ["BlobGrants", "NamespacedBlobs"]

_CHUNK = 400


class BlobGrants:
    """The ``server_blob_grants`` table: which namespace proved it holds which blob."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        postgres = engine.dialect.name == "postgresql"
        verb = "INSERT" if postgres else "INSERT OR IGNORE"
        conflict = " ON CONFLICT DO NOTHING" if postgres else ""
        self._insert = text(f"{verb} INTO server_blob_grants (namespace, digest, granted_at) "
                            f"VALUES (:namespace, :digest, :at){conflict}")

    def grant(self, namespace: str, digest: Digest) -> bool:
        """Record that ``namespace`` sent bytes the server verified as ``digest``; whether it is new."""
        with self.engine.begin() as conn:
            added = conn.execute(self._insert,
                                 {"namespace": namespace, "digest": str(digest), "at": utc_now()})
        return bool(added.rowcount)

    def granted(self, namespace: str, digests: Sequence[Digest]) -> set[Digest]:
        """Those of ``digests`` the namespace holds a grant for."""
        wanted = {str(d): d for d in digests}
        keys = list(wanted)
        found: set[Digest] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(keys), _CHUNK):
                rows = conn.execute(select(server_blob_grants.c.digest).where(and_(
                    server_blob_grants.c.namespace == namespace,
                    server_blob_grants.c.digest.in_(keys[start:start + _CHUNK]))))
                found.update(wanted[d] for d in rows.scalars())
        return found

    def holds(self, namespace: str, digest: Digest) -> bool:
        return bool(self.granted(namespace, [digest]))


class NamespacedBlobs:
    """The artifact store as one namespace sees it: the blobs it proved it has (see the module doc).

    Writes store the bytes (verified by the inner store, which names them by their own hash) and grant them.
    """

    def __init__(self, inner: BlobStore, grants: BlobGrants, namespace: str) -> None:
        self.inner = inner
        self.grants = grants
        self.namespace = namespace
        self.uri = inner.uri

    def has(self, digest: Digest) -> bool:
        return self.grants.holds(self.namespace, digest) and self.inner.has(digest)

    def missing(self, digests: Sequence[Digest]) -> list[Digest]:
        """Those of ``digests`` this namespace would have to send (one query for the grants)."""
        held = self.grants.granted(self.namespace, digests)
        return [d for d in digests if d not in held or not self.inner.has(d)]

    def open(self, digest: Digest) -> BinaryIO:
        if not self.grants.holds(self.namespace, digest):
            raise NotFoundError(
                f"no blob {digest} for namespace {self.namespace!r}: upload its bytes first "
                "(a namespace reads the blobs it sent; recording a digest is not enough)"
            )
        return self.inner.open(digest)

    def put_file(self, path: Path) -> tuple[Digest, int]:
        digest, size = self.inner.put_file(path)
        self.grants.grant(self.namespace, digest)
        return digest, size

    def put_bytes(self, data: bytes) -> Digest:
        digest = self.inner.put_bytes(data)
        self.grants.grant(self.namespace, digest)
        return digest

    def close(self) -> None:
        """The inner store is the server's, shared by every view: closed with the server."""
