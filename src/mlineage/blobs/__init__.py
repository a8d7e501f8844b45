"""Content-addressed blob stores."""

from .local import LocalBlobStore
from .protocol import BlobStore

__all__ = ["BlobStore", "LocalBlobStore"]
