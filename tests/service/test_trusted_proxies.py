"""Forwarded headers are believed only from IGTOKEN_TRUSTED_PROXIES (none by default): behind a
pass-through proxy, or from any local process, a made-up X-Forwarded-For cannot dodge the sign-in limit.
Served by uvicorn on loopback, as in production."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from igtoken.config.settings import load_settings
from igtoken.core.exceptions import ConfigurationError
from igtoken.service import ServiceDeps, create_app, make_server
from igtoken.service.config import RateLimit, RateLimits

from .conftest import NOW, InMemoryDashboard, make_config


@contextmanager
def served(**config: object) -> Iterator[str]:
    board = InMemoryDashboard.seeded()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    app = create_app(
        make_config(
            public_url=base, rate_limits=RateLimits(signin=RateLimit(per_minute=1, burst=2)), **config
        ),
        deps=ServiceDeps(dashboard_data=board, dashboard_actions=board, clock=lambda: NOW),
    )
    server = make_server(app, host="127.0.0.1", port=port)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def signin_statuses(base: str, addresses: Callable[[int], str], count: int = 4) -> list[int]:
    with httpx.Client(base_url=base, trust_env=False) as http:
        return [
            http.post(
                "/signin", data={"password": "x"}, headers={"x-forwarded-for": addresses(n)}
            ).status_code
            for n in range(count)
        ]


def test_forwarded_for_is_ignored_by_default():
    """127.0.0.1 is not trusted by default: four sign-ins "from" four addresses share one bucket."""
    with served() as base:
        statuses = signin_statuses(base, lambda n: f"203.0.113.{n + 1}")
    assert statuses[:2] == [403, 403] and statuses[2:] == [429, 429]


def test_forwarded_for_is_believed_from_a_trusted_proxy():
    """With the proxy's address trusted, each forwarded client has its own bucket; the same one is limited."""
    with served(trusted_proxies=("127.0.0.1",)) as base:
        assert 429 not in signin_statuses(base, lambda n: f"203.0.113.{n + 1}")
        assert signin_statuses(base, lambda n: "198.51.100.7") == [403, 403, 429, 429]


def test_trusted_proxies_setting_is_validated():
    assert load_settings({}).trusted_proxies == ()
    assert load_settings({"IGTOKEN_TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/16,::1"}).trusted_proxies == (
        "10.0.0.5",
        "10.1.0.0/16",
        "::1",
    )
    with pytest.raises(ConfigurationError, match="IGTOKEN_TRUSTED_PROXIES"):
        load_settings({"IGTOKEN_TRUSTED_PROXIES": "proxy.internal"})
    with pytest.raises(ConfigurationError, match="trusted proxy"):
        make_config(trusted_proxies=("not-an-ip",))
