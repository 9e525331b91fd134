"""How a command reaches Meta: the real hosts, ``IGTOKEN_META_BASE_URL``, or the sandbox in-process.

Commands that call Meta outside a login (``token`` refreshing, ``doctor``, ``audit-permissions``)
open one :func:`meta_link`. In sandbox mode (and without ``IGTOKEN_META_BASE_URL``) the sandbox
emulator runs in this process over the shared sandbox world: each call is one transaction on the
world file, so other sandbox processes see its effects at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import httpx

    from igtoken._endpoints import Endpoints
    from igtoken.emulator import World
    from igtoken.runtime import Runtime

__all__ = ["SANDBOX_BASE_URL", "MetaLink", "meta_link"]

#: The made-up base URL the in-process sandbox answers on (no socket is opened for it).
SANDBOX_BASE_URL: Final = "http://sandbox.igtoken.invalid"


@dataclass(frozen=True, slots=True)
class MetaLink:
    """Where Meta is and an HTTP client that reaches it; ``world`` is set for the in-process sandbox."""

    endpoints: Endpoints
    http: httpx.Client
    world: World | None = None


@contextlib.contextmanager
def meta_link(runtime: Runtime, *, timeout: float = 10.0) -> Iterator[MetaLink]:
    """Open the way to Meta for one command; closes on exit."""
    import httpx

    if runtime.sandbox and not runtime.settings.meta_base_url:
        from igtoken.runtime import SandboxEmulator
        from igtoken.testing import emulator_sync_client

        sandbox = SandboxEmulator()
        client = emulator_sync_client(sandbox.app(), base_url=SANDBOX_BASE_URL)
        try:
            yield MetaLink(runtime.endpoints(sandbox_url=SANDBOX_BASE_URL), client, sandbox.world)
        finally:
            client.close()
        return
    with httpx.Client(timeout=timeout) as client:
        yield MetaLink(runtime.endpoints(), client)
