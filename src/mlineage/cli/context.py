"""Opening the Client for a command: the only place the CLI touches configuration."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..sdk.client import Client


def open_client() -> Client:
    from ..config import load_settings
    from ..sdk.client import Client

    return Client(load_settings())


@contextlib.contextmanager
def client_session(*, one_shot: bool = False) -> Iterator[Client]:
    """The command's Client, closed when the command ends (a PostgreSQL connection is not left to the
    garbage collector). ``one_shot`` tells the graph engine that this process answers one query."""
    client = open_client()
    if one_shot:
        client.queries.one_shot = True
    try:
        yield client
    finally:
        client.close()
