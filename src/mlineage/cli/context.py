"""Opening the Client for a command: the only place the CLI touches configuration."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..sdk.client import Client


def open_client() -> Client:
    from ..config import load_settings
    from ..sdk.client import Client

    return Client(load_settings())
