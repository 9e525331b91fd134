"""The pytest plugin: fixtures that run the Meta emulator for your tests, on a frozen clock.

Installing ``igtoken[testing]`` registers this module with pytest through the ``pytest11`` entry point
(``igtoken = "igtoken.testing.plugin"``), so the fixtures are there in any test without a
``pytest_plugins`` line or an import::

    def test_token_exchange(emulator_client, emulator_clock):
        response = emulator_client.get("https://graph.instagram.com/me", params={...})
        emulator_clock.advance(days=8)

``emulator_async`` is an async fixture declared with pytest-asyncio's own decorator, so it works in
both its ``strict`` and ``auto`` modes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette

from igtoken.emulator import EmulatorClock, World, create_app
from igtoken.testing import (
    TEST_CLOCK_START,
    RunningEmulator,
    emulator_async_client,
    emulator_sync_client,
    run_emulator_on_loopback,
)

__all__ = [
    "emulator_app",
    "emulator_async",
    "emulator_client",
    "emulator_clock",
    "emulator_url",
    "emulator_world",
]


@pytest.fixture
def emulator_clock() -> EmulatorClock:
    """A frozen clock at :data:`~igtoken.testing.TEST_CLOCK_START`; move it with ``advance``."""
    return EmulatorClock(TEST_CLOCK_START, frozen=True)


@pytest.fixture
def emulator_app(emulator_clock: EmulatorClock) -> Starlette:
    """The emulator with the demo world, on the frozen test clock."""
    return create_app(clock=emulator_clock)


@pytest.fixture
def emulator_world(emulator_app: Starlette) -> World:
    """The world behind ``emulator_app``."""
    world: World = emulator_app.state.world
    return world


@pytest.fixture
def emulator_client(emulator_app: Starlette) -> Iterator[httpx.Client]:
    """A sync httpx client into ``emulator_app`` in-process (use path prefixes or real Meta URLs)."""
    with emulator_sync_client(emulator_app) as client:
        yield client


@pytest_asyncio.fixture
async def emulator_async(emulator_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An async httpx client into ``emulator_app`` in-process."""
    async with emulator_async_client(emulator_app) as client:
        yield client


@pytest.fixture
def emulator_url(emulator_app: Starlette) -> Iterator[RunningEmulator]:
    """``emulator_app`` served on a loopback port; the value is its base URL."""
    with run_emulator_on_loopback(emulator_app) as url:
        yield url
