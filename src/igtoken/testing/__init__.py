"""Helpers that serve the Meta emulator in-process or on a loopback port; no pytest needed.

:func:`run_emulator_on_loopback`, :func:`emulator_sync_client`, :func:`emulator_async_client`,
:class:`ASGISyncTransport` and :class:`MetaRedirectTransport` are plain code: the sandbox uses them at
run time, so this package never imports a test tool.

:func:`emulator_config` and :func:`emulator_consent` serve tests that drive igtoken's own
:class:`~igtoken.Client` against the emulator: the demo apps' credentials, and the browser's
part of a login (the emulator's consent shortcut).

The pytest fixtures (``igtoken_client``, ``igtoken_async_client``, ``emulator_client``,
``emulator_clock``, ``emulator_url``, …) live in :mod:`igtoken.testing.plugin`, which pytest loads
by itself (entry point ``pytest11``) once ``igtoken[testing]`` is installed: no
``pytest_plugins`` line is needed::

    def test_refresh(emulator_client, emulator_clock):
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

import httpx

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from igtoken.core.config import ClientConfig
    from igtoken.emulator import EmulatorClock, Switches, World

# uvicorn and the emulator are imported where they are used: the pytest plugin imports this package
# in every pytest run of an environment that has igtoken, and most of those never start an emulator.

#: The redirect URI :func:`emulator_config` registers (one of the demo apps' registered URIs).
TEST_REDIRECT_URI: Final = "http://127.0.0.1:8765/callback"

#: Where the frozen test clock starts (fixed, so expiry messages and ages are reproducible).
TEST_CLOCK_START: Final = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
META_HOSTS: Final = (
    "www.instagram.com",
    "api.instagram.com",
    "graph.instagram.com",
    "www.facebook.com",
    "graph.facebook.com",
)


class RunningEmulator(str):
    """The base URL of an emulator on loopback (a ``str``), carrying its ``app``, ``world`` and ``clock``."""

    app: Starlette
    world: World

    def __new__(cls, url: str, app: Starlette) -> RunningEmulator:
        self = super().__new__(cls, url)
        self.app = app
        self.world = app.state.world
        return self

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321``."""
        return str(self)

    @property
    def clock(self) -> EmulatorClock:
        """The emulator's clock."""
        return self.world.clock

    def host_url(self, host: str) -> str:
        """The path-prefix base for one Meta host, e.g. ``http://127.0.0.1:54321/graph.instagram.com``."""
        return f"{self}/{host}"


@contextlib.contextmanager
def run_emulator_on_loopback(
    app: Starlette | None = None,
    *,
    world: World | None = None,
    clock: EmulatorClock | None = None,
    switches: Switches | None = None,
    port: int = 0,
) -> Iterator[RunningEmulator]:
    """Serve the emulator with uvicorn on 127.0.0.1 (``port``; 0: ephemeral) in a thread; yields its URL.

    A busy ``port`` raises :class:`OSError` before anything starts.
    """
    import uvicorn

    from igtoken.emulator import create_app

    app = app or create_app(world, clock=clock, switches=switches)
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP,
    # and without it every response waits ~40 ms on Nagle + delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="igtoken-emulator", daemon=True
    )
    thread.start()
    try:
        for _ in range(500):
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.01)
        if not server.started:
            raise RuntimeError("the emulator did not start on loopback within 5 seconds")
        yield RunningEmulator(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


class ASGISyncTransport(httpx.BaseTransport):
    """A synchronous httpx transport into an ASGI app, run on a private event-loop thread.

    httpx's own ``ASGITransport`` is async-only; this lets a plain ``httpx.Client`` (and so igtoken's
    sync client) talk to the emulator in-process. Requests keep their URL and ``Host``, so real Meta
    URLs (``https://graph.instagram.com/me``) reach the right virtual host.
    """

    def __init__(self, app: Starlette) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="igtoken-asgi-sync", daemon=True)
        self._thread.start()

    async def _send(self, request: httpx.Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        response = await self._inner.handle_async_request(request)
        body = await response.aread()
        return response.status_code, response.headers.raw, body

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request through the app and return the whole response."""
        request.read()
        future = asyncio.run_coroutine_threadsafe(self._send(request), self._loop)
        status, headers, body = future.result(timeout=120)
        return httpx.Response(status, headers=headers, content=body, request=request)

    def close(self) -> None:
        """Stop the private event loop."""
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        if not self._loop.is_running() and not self._loop.is_closed():
            self._loop.close()


def emulator_sync_client(app: Starlette, base_url: str = "http://emulator.test") -> httpx.Client:
    """A sync ``httpx.Client`` wired to the app in-process (close it when done)."""
    return httpx.Client(transport=ASGISyncTransport(app), base_url=base_url)


def emulator_async_client(app: Starlette, base_url: str = "http://emulator.test") -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` wired to the app in-process through ``httpx.ASGITransport``."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


class MetaRedirectTransport(httpx.BaseTransport):
    """Send requests for real Meta hosts to an emulator base URL (path-prefix form); others pass through.

    Lets code that hard-codes ``https://graph.instagram.com/...`` run against a loopback emulator.
    """

    def __init__(self, base_url: str, inner: httpx.BaseTransport | None = None) -> None:
        self._base = httpx.URL(base_url)
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Rewrite the URL if it names a Meta host, then send."""
        host = request.url.host
        if host in META_HOSTS:
            path = "/" + host + request.url.raw_path.decode("ascii")
            request.url = self._base.copy_with(raw_path=path.encode("ascii"))
            request.headers["Host"] = self._base.netloc.decode("ascii")
        return self._inner.handle_request(request)

    def close(self) -> None:
        """Close the inner transport."""
        self._inner.close()


def emulator_config(base_url: str | None = None) -> ClientConfig:
    """A :class:`~igtoken.ClientConfig` for the emulator's demo apps.

    ``app`` is the demo Instagram Login app, ``facebook_app`` the demo Facebook Login app,
    both with :data:`TEST_REDIRECT_URI`. With ``base_url`` (a loopback emulator) every
    endpoint points there; without it the endpoints are Meta's real hosts, which the
    in-process transports route to the emulator by ``Host``.
    """
    from igtoken.core.config import AppCredentials, ClientConfig
    from igtoken.core.endpoints import Endpoints
    from igtoken.core.secret import Secret
    from igtoken.emulator.demo import DEMO_FB_APP_ID, DEMO_FB_APP_SECRET, DEMO_IG_APP_ID, DEMO_IG_APP_SECRET

    return ClientConfig(
        AppCredentials(DEMO_IG_APP_ID, Secret(DEMO_IG_APP_SECRET), TEST_REDIRECT_URI),
        endpoints=Endpoints.emulator(base_url) if base_url else Endpoints(),
        facebook_app=AppCredentials(DEMO_FB_APP_ID, Secret(DEMO_FB_APP_SECRET), TEST_REDIRECT_URI),
    )


def emulator_consent(http: httpx.Client, authorize_url: str, account: str, *, approve: bool = True) -> str:
    """Play the browser on an authorize (or Facebook dialog) URL: returns the callback URL Meta redirects to.

    ``http`` reaches the emulator (e.g. the ``emulator_client`` fixture); ``account`` is the
    username who consents (``demo_business``, ``demo_fb_user``, …); ``approve=False`` declines.
    """
    decision = "approve" if approve else "deny"
    separator = "&" if "?" in authorize_url else "?"
    url = f"{authorize_url}{separator}emulator_account={account}&emulator_decision={decision}"
    response = http.get(url)
    if response.status_code not in (302, 303) or "location" not in response.headers:
        raise AssertionError(f"the emulator did not redirect ({response.status_code}): {response.text[:300]}")
    return response.headers["location"]


__all__ = [
    "META_HOSTS",
    "TEST_CLOCK_START",
    "TEST_REDIRECT_URI",
    "ASGISyncTransport",
    "MetaRedirectTransport",
    "RunningEmulator",
    "emulator_async_client",
    "emulator_config",
    "emulator_consent",
    "emulator_sync_client",
    "run_emulator_on_loopback",
]
