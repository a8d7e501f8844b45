"""The remote store moved to ``mlineage.stores.remote``; these names stay importable from here."""

from __future__ import annotations

from ..stores.remote.http import BATCH, RemoteError, RemoteStore, error_from
from ..stores.remote.spool import COMPACT_BYTES, Spool, default_spool_dir

__all__ = ["BATCH", "COMPACT_BYTES", "RemoteError", "RemoteStore", "Spool", "default_spool_dir", "error_from"]
