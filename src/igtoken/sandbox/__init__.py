"""The sandbox: the built-in emulator's demo world, one for every igtoken process of a user.

``igtoken --sandbox …`` and ``igtoken serve`` without a Meta app talk to this world instead of Meta.
Every process runs the emulator in-process over the same state file (see :mod:`.shared_world`),
so what one process does (a login, a refresh, a moved clock) the others see at once. Sandbox
time is the wall clock plus an offset that ``/_emulator/clock/advance`` moves; moving the system
clock (libfaketime) moves the sandbox and igtoken together.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Final

from igtoken.config import paths as _paths

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from igtoken.emulator import World
    from igtoken.sandbox.shared_world import SharedWorld
    from igtoken.testing import RunningEmulator

__all__ = ["SANDBOX_APP", "SANDBOX_FB_APP", "SandboxEmulator", "sandbox_now"]

#: The names the sandbox registers the emulator's demo apps under.
SANDBOX_APP: Final = "demo"
SANDBOX_FB_APP: Final = "demo-facebook"


#: The clock offset last read from a state file, by path, with the file's signature when it was read.
_OFFSETS: dict[Path, tuple[tuple[int, int, int], float]] = {}


def sandbox_now(state_file: Path | None = None) -> datetime:
    """Sandbox time: the wall clock plus the offset that ``/_emulator/clock/advance`` moved it by.

    igtoken's own "now" in sandbox mode, so a moved sandbox clock is seen by igtoken and the
    emulator alike. The state file is read again only when another process has replaced it.
    """
    import json

    path = state_file or _paths.sandbox_emulator_state_path()
    offset = 0.0
    try:
        st = path.stat()
    except FileNotFoundError:
        pass
    else:
        signature = (st.st_ino, st.st_mtime_ns, st.st_size)
        cached = _OFFSETS.get(path)
        if cached is not None and cached[0] == signature:
            offset = cached[1]
        else:
            try:
                clock = json.loads(path.read_text(encoding="utf-8")).get("clock")
            except (OSError, ValueError):
                clock = None
            if isinstance(clock, dict) and not clock.get("frozen"):
                offset = float(clock.get("offset", 0.0))
            _OFFSETS[path] = (signature, offset)
    return datetime.now(UTC) + timedelta(seconds=offset)


class SandboxEmulator:
    """The emulator with the sandbox's demo world, shared through ``state_file`` with other processes."""

    def __init__(self, state_file: Path | None = None) -> None:
        self.state_file = state_file or _paths.sandbox_emulator_state_path()

    @cached_property
    def shared(self) -> SharedWorld:
        """The world file, opened (and created with the demo world) on first use."""
        from igtoken.core.exceptions import ConfigurationError
        from igtoken.emulator import WorldError, demo, demo_world
        from igtoken.sandbox.shared_world import SharedWorld

        try:
            shared = SharedWorld(self.state_file, make_world=demo_world)
        except WorldError as exc:
            raise ConfigurationError(
                str(exc), fix=f"delete {self.state_file} to start a fresh sandbox world"
            ) from exc
        if shared.loaded_version == 1:
            # Older versions wrote every service's callback into the demo apps for good; those
            # callbacks are leased now, so start the demo apps again from their own URIs.
            with shared.transaction() as world:
                for app_id in (demo.DEMO_IG_APP_ID, demo.DEMO_FB_APP_ID):
                    with contextlib.suppress(WorldError):
                        world.update_app(app_id, redirect_uris=list(demo.DEMO_REDIRECT_URIS))
                world.touch()
        return shared

    @property
    def world(self) -> World:
        """The shared world; change it only inside :meth:`transaction`."""
        return self.shared.world

    def transaction(self) -> contextlib.AbstractContextManager[World]:
        """Change the world directly (outside a request); saved and visible to every process on exit."""
        return self.shared.transaction()

    def app(self) -> Starlette:
        """The emulator app over the shared world; each request is one transaction on it."""
        from igtoken.emulator import create_app
        from igtoken.sandbox.shared_world import SharedWorldMiddleware

        app = create_app(self.shared.world)
        app.add_middleware(SharedWorldMiddleware, shared=self.shared)
        return app

    def lease_redirect_uris(self, redirect_uris: Sequence[str]) -> contextlib.AbstractContextManager[None]:
        """Register ``redirect_uris`` with the demo apps while the block runs (and this process lives)."""
        from igtoken.emulator import demo

        return self.shared.leased_redirect_uris((demo.DEMO_IG_APP_ID, demo.DEMO_FB_APP_ID), redirect_uris)

    @contextlib.contextmanager
    def serve(self, redirect_uris: Sequence[str] = (), *, port: int = 0) -> Iterator[RunningEmulator]:
        """Serve the sandbox emulator on a loopback port; its demo apps also accept ``redirect_uris``.

        ``port`` 0 picks a free one; a busy port raises :class:`OSError` before anything starts.
        """
        from igtoken.testing import run_emulator_on_loopback

        app = self.app()
        with run_emulator_on_loopback(app, port=port) as url, self.lease_redirect_uris(redirect_uris):
            yield url
