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
from typing import TYPE_CHECKING, Any, Final

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
    #: The in-process sandbox emulator app, when that is where Meta is.
    app: Any = None
    timeout: float = 10.0

    def async_http(self) -> httpx.AsyncClient:
        """An async HTTP client to the same place (for the async refresh use case); close it after use."""
        import httpx

        if self.app is not None:
            return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=SANDBOX_BASE_URL)
        return httpx.AsyncClient(timeout=self.timeout)


@contextlib.contextmanager
def meta_link(runtime: Runtime, *, timeout: float = 10.0) -> Iterator[MetaLink]:
    """Open the way to Meta for one command; closes on exit."""
    import httpx

    if runtime.sandbox and not runtime.settings.meta_base_url:
        from igtoken.runtime import SandboxEmulator
        from igtoken.testing import emulator_sync_client

        sandbox = SandboxEmulator()
        app = sandbox.app()
        client = emulator_sync_client(app, base_url=SANDBOX_BASE_URL)
        try:
            yield MetaLink(runtime.endpoints(sandbox_url=SANDBOX_BASE_URL), client, sandbox.world, app)
        finally:
            client.close()
        return
    with httpx.Client(timeout=timeout) as client:
        yield MetaLink(runtime.endpoints(), client, timeout=timeout)
