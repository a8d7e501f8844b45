"""Bytes that are not in the artifact store but were pushed to the project's remote (``mlineage push``).

R(m)'s data term asks whether an input's bytes are retrievable, and pushed bytes are: a machine that lost
its local cache can ``pull`` them, and ``reproduce`` fetches them itself. ``Retrievable`` is the
``has_blob`` the lineage queries judge with: the artifact store first, then the remote that ``[remote]`` /
``MLINEAGE_REMOTE`` names (docs/data-versioning.md), asked through the blob store protocol's batched
``missing`` once for every digest of a walk (``prefetch``), not once per digest. ``fetch`` copies such a
blob into the artifact store, verified, before ``reproduce`` reads it. The remote is opened only when the
artifact store lacks something, so a project whose bytes are all local never touches the network.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..model import Digest

if TYPE_CHECKING:
    from ..sdk.client import Client

_NONE = object()


def _same_store(a: str, b: str) -> bool:
    def norm(uri: str) -> str:
        uri = uri.removeprefix("file://").rstrip("/")
        return os.path.realpath(uri) if "://" not in uri else uri

    return norm(a) == norm(b)


class Retrievable:
    """``has_blob`` for R(m): in the artifact store, or on the configured push remote."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._remote: Any = _NONE
        self._on_remote: dict[str, bool] = {}

    @property
    def remote(self) -> Any:
        """The push remote as a blob store, or None (none configured, or it is the artifact store)."""
        if self._remote is _NONE:
            self._remote = None
            root = self.client.settings.project_root
            if root is not None:
                from ..data.settings import load_data_settings
                from ..data.transfer import open_remote
                from ..errors import ConfigError

                try:
                    settings = load_data_settings(Path(root))
                except ConfigError:
                    return None
                uri = settings.remote_uri
                if uri and not _same_store(uri, self.client.blobs.uri) \
                        and not _same_store(uri, str(settings.cache_dir)):
                    self._remote = open_remote(uri, settings.remote_options, settings.root)
        return self._remote

    def prefetch(self, digests: Iterable[Digest]) -> None:
        """Ask the remote about every digest the artifact store lacks, in one batched call."""
        lacking = [d for d in dict.fromkeys(digests) if str(d) not in self._on_remote
                   and not self.client.blobs.has(d)]
        if not lacking or self.remote is None:
            return
        missing = {str(d) for d in self.remote.missing(lacking)}
        for d in lacking:
            self._on_remote[str(d)] = str(d) not in missing

    def __call__(self, digest: Digest) -> bool:
        if self.client.blobs.has(digest):
            return True
        if str(digest) not in self._on_remote:
            self.prefetch([digest])
        return self._on_remote.get(str(digest), False)

    def fetch(self, digest: Digest) -> bool:
        """Copy a blob the artifact store lacks from the remote into it (verified by ``put_file``'s own
        hashing); True when the artifact store has it afterwards."""
        if self.client.blobs.has(digest):
            return True
        if self.remote is None or not self(digest):
            return False
        with tempfile.TemporaryDirectory(prefix="mlineage-fetch-") as folder:
            target = Path(folder) / digest.hex
            self.remote.download_to(digest, target)
            stored, _size = self.client.blobs.put_file(target)
        return str(stored) == str(digest)


def retrievable(client: Client) -> Callable[[Digest], bool]:
    """The client's ``has_blob`` for R(m) (its Retrievable), or the artifact store's ``has``."""
    has_blob = getattr(client.queries, "_has_blob", None)
    return has_blob if isinstance(has_blob, Retrievable) else client.blobs.has


def ensure_local(client: Client, digest: Digest) -> bool:
    """The blob is in the client's artifact store, fetched from the push remote if it was only there."""
    has_blob = retrievable(client)
    return has_blob.fetch(digest) if isinstance(has_blob, Retrievable) else has_blob(digest)
