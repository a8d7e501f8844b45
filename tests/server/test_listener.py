"""`mlineage server --workers N` binds one listening socket for its processes: it must hand out connections
with TCP_NODELAY (a response written as headers then body otherwise waits for the client's delayed ACK)."""

from __future__ import annotations

import socket

from uvicorn.config import Config

from mlineage.cli.server_commands import _listener_without_nagle


def test_the_shared_listener_passes_nodelay_to_its_connections() -> None:
    original = Config.bind_socket
    with _listener_without_nagle():
        config = Config(app="mlineage.server.app:app_from_environment", host="127.0.0.1", port=0)
        listener = config.bind_socket()
    assert Config.bind_socket is original
    try:
        listener.listen()
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        accepted.close()
        client.close()
    finally:
        listener.close()
