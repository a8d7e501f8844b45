"""Metadata stores by URI scheme: ``sqlite:``, ``postgresql:`` (SQL), ``http(s):`` (a server).

Each entry imports its backend only when a URI of its scheme is opened, so the CLI starts without loading
SQLAlchemy or httpx for a store it does not use. A backend registers one opener per scheme.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ConfigError
from .protocol import MetadataStore

Opener = Callable[[str], MetadataStore]
_OPENERS: dict[str, Opener] = {}


def register(*schemes: str) -> Callable[[Opener], Opener]:
    """Register ``opener`` for URIs that start with ``<scheme>:``."""
    def decorator(opener: Opener) -> Opener:
        for scheme in schemes:
            _OPENERS[scheme] = opener
        return opener
    return decorator


@register("sqlite", "postgresql", "postgres", "postgresql+psycopg")
def _sql(uri: str) -> MetadataStore:
    from .sql import SqlStore

    return SqlStore(uri)


@register("http", "https")
def _remote(uri: str) -> MetadataStore:
    from .remote.http import RemoteStore

    return RemoteStore(uri)


def schemes() -> list[str]:
    return sorted(_OPENERS)


def open_store(uri: str) -> MetadataStore:
    """The metadata store for ``uri``, chosen by its scheme."""
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
    opener = _OPENERS.get(scheme)
    if opener is None:
        raise ConfigError(f"unsupported store URI {uri!r}: use sqlite:///path, postgresql://... "
                          "or http(s)://server (schemes: " + ", ".join(schemes()) + ")")
    return opener(uri)
