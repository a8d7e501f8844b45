"""Blob stores chosen by URI scheme: a folder path or ``file://`` → local, ``s3://bucket/prefix`` → S3,
``http(s)://server`` → the team server's artifact store.

Backends are imported lazily, so the CLI pays for boto3 only when it talks to S3; a missing optional
dependency is reported with the extra to install.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import ConfigError
from .protocol import BlobStore

_FACTORIES: dict[str, Callable[[str, dict[str, Any]], BlobStore]] = {}


def register(scheme: str) -> Callable[[Callable[[str, dict[str, Any]], BlobStore]],
                                      Callable[[str, dict[str, Any]], BlobStore]]:
    """Register a factory ``(uri, options) -> BlobStore`` for a URI scheme."""

    def decorate(
        factory: Callable[[str, dict[str, Any]], BlobStore],
    ) -> Callable[[str, dict[str, Any]], BlobStore]:
        _FACTORIES[scheme] = factory
        return factory
    return decorate


@register("file")
def _local(uri: str, options: dict[str, Any]) -> BlobStore:
    from .local import LocalBlobStore

    path = unquote(urlsplit(uri).path) if uri.startswith("file://") else uri
    return LocalBlobStore(Path(path))


@register("s3")
def _s3(uri: str, options: dict[str, Any]) -> BlobStore:
    try:
        from .s3 import S3BlobStore
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError(
            f"{uri}: S3 support needs boto3 ({exc}); install it with `pip install 'mlineage[s3]'`"
        ) from None
    return S3BlobStore(uri, endpoint_url=options.get("endpoint_url"), region=options.get("region"))


@register("http")
@register("https")
def _server(uri: str, options: dict[str, Any]) -> BlobStore:
    from .http import HttpBlobStore

    return HttpBlobStore(uri, token=options.get("token"))


def scheme_of(uri: str) -> str:
    if "://" not in uri:
        return "file"
    return uri.split("://", 1)[0].lower()


def open_blob_store(uri: str, **options: Any) -> BlobStore:
    """The blob store for a URI. Plain paths are local folders."""
    scheme = scheme_of(uri)
    factory = _FACTORIES.get(scheme)
    if factory is None:
        known = ", ".join(sorted(f"{s}://" for s in _FACTORIES))
        raise ConfigError(f"unsupported artifact store URI {uri!r}: use a folder path or one of {known}")
    return factory(uri, options)
