"""Content-addressed blob stores (loaded lazily, so importing one submodule stays cheap)."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs the CLI's quick paths (mypy knows the name)
if TYPE_CHECKING:
    from typing import Any

    from .local import LocalBlobStore
    from .protocol import BlobStore

__all__ = ["BlobStore", "LocalBlobStore"]


def __getattr__(name: str) -> Any:
    if name == "LocalBlobStore":
        from .local import LocalBlobStore

        return LocalBlobStore
    if name == "BlobStore":
        from .protocol import BlobStore

        return BlobStore
    raise AttributeError(f"module 'mlineage.blobs' has no attribute {name!r}")
