"""The team server: an HTTP shell over the same Client the SDK and CLI use (see docs/server.md)."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
