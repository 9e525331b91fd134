"""``create_app``: the emulator as a Starlette application."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from starlette.applications import Starlette

from igtoken.emulator import control
from igtoken.emulator.clock import EmulatorClock
from igtoken.emulator.demo import demo_world
from igtoken.emulator.dispatch import Dispatcher
from igtoken.emulator.switches import Switches
from igtoken.emulator.world import World


def create_app(
    world: World | None = None,
    *,
    clock: EmulatorClock | None = None,
    switches: Switches | None = None,
    state_file: str | Path | None = None,
    sender: Callable[[str, str, dict[str, str], bytes | None, float], tuple[int, bytes]] | None = None,
) -> Starlette:
    """The emulator app; ``app.state.world`` is the :class:`World` it serves.

    Without ``world`` it starts with the demo world (see :mod:`igtoken.emulator.demo`). ``clock``
    and ``switches`` replace the world's own. ``state_file`` is written when the world changes
    (at most once a second) and at shutdown. ``sender`` replaces urllib for outbound calls.
    """
    if world is None:
        world = demo_world(clock=clock, switches=switches)
    else:
        if clock is not None:
            world.clock = clock
        if switches is not None:
            world.switches = switches
    if sender is not None:
        world.sender = sender

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if state_file is None:
            yield
            return
        saved = world.changes

        async def autosave() -> None:
            nonlocal saved
            while True:
                await asyncio.sleep(1.0)
                if world.changes != saved:
                    saved = world.changes
                    world.save(state_file)

        task = asyncio.create_task(autosave())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            world.save(state_file)

    app = Starlette(lifespan=lifespan)
    app.router.default = Dispatcher(world, control.handle)
    app.state.world = world
    return app
