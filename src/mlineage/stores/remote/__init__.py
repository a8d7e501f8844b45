"""The metadata store behind ``http(s)://`` URIs: a server, reached through its HTTP API.

``http.py`` holds the store (records over HTTP, writes through the spool), ``spool.py`` the durable spool,
``queries.py`` the query service that sends whole lineage queries to the server.
"""

from __future__ import annotations

from .http import RemoteError, RemoteStore
from .spool import Spool, default_spool_dir

__all__ = ["RemoteError", "RemoteStore", "Spool", "default_spool_dir"]
