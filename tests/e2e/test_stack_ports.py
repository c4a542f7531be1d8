"""The ports the tests' servers listen on (tests/e2e/stack.py)."""

from __future__ import annotations

import socket

from tests.e2e.stack import _ephemeral_ports, free_port


def test_servers_listen_below_the_ports_outgoing_connections_take() -> None:
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50  # never the same port twice, even before any binds
    ephemeral = _ephemeral_ports()
    assert not [port for port in ports if port in ephemeral]
    with socket.socket() as client:  # an outgoing connection's own port is ephemeral
        client.bind(("127.0.0.1", 0))
        assert client.getsockname()[1] in ephemeral
