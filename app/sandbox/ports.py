"""Loopback ports for the development sandbox: refuse a taken one with a clear message."""

from __future__ import annotations

import socket


class PortTaken(RuntimeError):
    """A fixed development port is in use by something else."""


def require_free(port: int, what: str, host: str = "127.0.0.1", *, udp: bool = False) -> None:
    with socket.socket(type=socket.SOCK_DGRAM if udp else socket.SOCK_STREAM) as sock:
        if not udp:
            # As the servers do: connections left in TIME_WAIT by a previous run are no obstacle,
            # a listener still is.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise PortTaken(
                f"{host}:{port} ({what}) is already in use: stop whatever listens there "
                f"(`ss -ltnp 'sport = :{port}'`) or choose another port"
            ) from None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
