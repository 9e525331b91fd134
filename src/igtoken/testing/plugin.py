"""The pytest plugin: fixtures that run the Meta emulator for your tests, on a frozen clock.

Installing ``igtoken[testing]`` registers this module with pytest through the ``pytest11`` entry point
(``igtoken = "igtoken.testing.plugin"``), so the fixtures are there in any test without a
``pytest_plugins`` line or an import::

    def test_token_exchange(emulator_client, emulator_clock):
        response = emulator_client.get("https://graph.instagram.com/me", params={...})
        emulator_clock.advance(days=8)

``emulator_async`` is an async fixture declared with pytest-asyncio's own decorator, so it works in
both its ``strict`` and ``auto`` modes. Without pytest-asyncio the plugin still loads (so an
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
]

# The emulator (Starlette, uvicorn) is imported inside the fixtures, not here: pytest loads this plugin
# in every run of an environment where igtoken is installed, and most of those never use it.


def _async_fixture(func: Callable[..., AsyncIterator[Any]]) -> Any:
    """pytest-asyncio's fixture decorator (works in its strict and auto modes), or a stand-in that fails."""
    if pytest_asyncio is not None:
        return pytest_asyncio.fixture(func)

    @pytest.fixture(name=func.__name__)
    def missing() -> NoReturn:
        from igtoken._extras import require_extra

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
