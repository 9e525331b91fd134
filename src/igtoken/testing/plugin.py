"""The pytest plugin: fixtures that run the Meta emulator for your tests, on a frozen clock.

Installing ``igtoken[testing]`` registers this module with pytest through the ``pytest11`` entry point
(``igtoken = "igtoken.testing.plugin"``), so the fixtures are there in any test without a
``pytest_plugins`` line or an import::

    def test_token_exchange(emulator_client, emulator_clock):
        response = emulator_client.get("https://graph.instagram.com/me", params={...})
        emulator_clock.advance(days=8)

``igtoken_client`` and ``igtoken_async_client`` are igtoken's own clients for the demo apps
(:func:`~igtoken.testing.emulator_config`), wired to the emulator in-process and to its clock: move
``emulator_clock`` and the clients' calls see the new time without ``now=``::

    def test_refresh_after_a_day(igtoken_client, emulator_client, emulator_clock):
        ...
        emulator_clock.advance(25 * 3600)
        token = igtoken_client.refresh(token)

``emulator_async`` and ``igtoken_async_client`` are async fixtures declared with pytest-asyncio's own
decorator, so they work in both its ``strict`` and ``auto`` modes (in strict mode mark the test
``@pytest.mark.asyncio``). Without pytest-asyncio the plugin still loads (so an
environment that has igtoken and pytest but not the extra keeps working) and only that fixture fails,
naming ``igtoken[testing]``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from igtoken.client.clients import AsyncClient, Client
    from igtoken.emulator import EmulatorClock, World
    from igtoken.testing import RunningEmulator

try:
    import pytest_asyncio
except ModuleNotFoundError:  # pragma: no cover - exercised in a subprocess
    # igtoken is installed without [testing] where pytest is: the plugin still loads (pytest keeps
    # working for everything else), and only emulator_async says what to install.
    pytest_asyncio = None  # type: ignore[assignment]

__all__ = [
    "emulator_app",
    "emulator_async",
    "emulator_client",
    "emulator_clock",
    "emulator_url",
    "emulator_world",
    "igtoken_async_client",
    "igtoken_client",
]

# The emulator (Starlette, uvicorn) is imported inside the fixtures, not here: pytest loads this plugin
# in every run of an environment where igtoken is installed, and most of those never use it.


def _async_fixture(func: Callable[..., AsyncIterator[Any]]) -> Any:
    """pytest-asyncio's fixture decorator (works in its strict and auto modes), or a stand-in that fails."""
    if pytest_asyncio is not None:
        return pytest_asyncio.fixture(func)

    @pytest.fixture(name=func.__name__)
    def missing() -> NoReturn:
        from igtoken.config.extras import require_extra

        require_extra("testing")
        raise AssertionError("unreachable: require_extra raised")  # pragma: no cover

    missing.__doc__ = func.__doc__
    return missing


@pytest.fixture
def emulator_clock() -> EmulatorClock:
    """A frozen clock at :data:`~igtoken.testing.TEST_CLOCK_START`; move it with ``advance``."""
    from igtoken.emulator import EmulatorClock
    from igtoken.testing import TEST_CLOCK_START

    return EmulatorClock(TEST_CLOCK_START, frozen=True)


@pytest.fixture
def emulator_app(emulator_clock: EmulatorClock) -> Starlette:
    """The emulator with the demo world, on the frozen test clock."""
    from igtoken.emulator import create_app

    return create_app(clock=emulator_clock)


@pytest.fixture
def emulator_world(emulator_app: Starlette) -> World:
    """The world behind ``emulator_app``."""
    world: World = emulator_app.state.world
    return world


@pytest.fixture
def emulator_client(emulator_app: Starlette) -> Iterator[httpx.Client]:
    """A sync httpx client into ``emulator_app`` in-process (use path prefixes or real Meta URLs)."""
    from igtoken.testing import emulator_sync_client

    with emulator_sync_client(emulator_app) as client:
        yield client


@_async_fixture
async def emulator_async(emulator_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An async httpx client into ``emulator_app`` in-process (needs pytest-asyncio: igtoken[testing])."""
    from igtoken.testing import emulator_async_client

    async with emulator_async_client(emulator_app) as client:
        yield client


@pytest.fixture
def emulator_url(emulator_app: Starlette) -> Iterator[RunningEmulator]:
    """``emulator_app`` served on a loopback port; the value is its base URL."""
    from igtoken.testing import run_emulator_on_loopback

    with run_emulator_on_loopback(emulator_app) as url:
        yield url


@pytest.fixture
def igtoken_client(emulator_app: Starlette, emulator_clock: EmulatorClock) -> Iterator[Client]:
    """igtoken's :class:`~igtoken.Client` for the demo apps, in-process to ``emulator_app``, on its clock."""
    from igtoken.client.clients import Client
    from igtoken.testing import ASGISyncTransport, emulator_config

    with Client(emulator_config(), transport=ASGISyncTransport(emulator_app), clock=emulator_clock) as client:
        yield client


@_async_fixture
async def igtoken_async_client(
    emulator_app: Starlette, emulator_clock: EmulatorClock
) -> AsyncIterator[AsyncClient]:
    """The :class:`~igtoken.AsyncClient` twin of ``igtoken_client`` (needs igtoken[testing])."""
    import httpx

    from igtoken.client.clients import AsyncClient
    from igtoken.testing import emulator_config

    transport = httpx.ASGITransport(app=emulator_app)
    async with AsyncClient(emulator_config(), transport=transport, clock=emulator_clock) as client:
        yield client
