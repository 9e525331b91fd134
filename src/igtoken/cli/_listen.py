"""The listening socket of ``igtoken serve`` and ``igtoken emulator``, bound before the server starts."""

from __future__ import annotations

import socket

from igtoken.core.exceptions import ConfigurationError


def bind_listener(host: str, port: int, *, port_hint: str) -> socket.socket:
    """A TCP socket bound to ``host:port`` (IPv6 when ``host`` has a colon); a port in use or a
    host that is not ours is a :class:`ConfigurationError` whose fix names ``port_hint``."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say TCP (else ~40 ms stalls).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigurationError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            fix=f"stop whatever uses that port, or pick another with {port_hint}",
        ) from None
    return sock
