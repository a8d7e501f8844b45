"""The server fixtures, for the team-server test of the gates."""

from tests.server.conftest import admin_token, backend_uri, server  # noqa: F401
