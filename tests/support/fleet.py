"""Helpers for the worker tests: a vault and an emulator seeded alike (the seeding itself is
:mod:`igtoken.testing.fleet`, shared with ``bench/refresh``), and a worker wired to both."""

from __future__ import annotations

from datetime import timedelta

from igtoken.app.runtime import Runtime
from igtoken.client.clients import AsyncClient
from igtoken.client.retry import NO_RETRY
from igtoken.config.settings import Settings
from igtoken.core.config import ClientConfig
from igtoken.core.endpoints import Endpoints
from igtoken.emulator import EmulatorClock, create_app
from igtoken.refresh.usecase import Refresher
from igtoken.refresh.worker import RefreshWorker, default_owner
from igtoken.testing import TEST_CLOCK_START, emulator_async_client
from igtoken.testing.fleet import (
    APP_NAME,
    Seeded,
    add_demo_app,
    keyring,
    keys_setting,
    open_vault,
    seed_fleet,
)
from igtoken.vault import AppRecord, AsyncVault

__all__ = [
    "APP_NAME",
    "PUBLIC_URL",
    "Rig",
    "Seeded",
    "add_demo_app",
    "client_factory",
    "keyring",
    "keys_setting",
    "open_vault",
    "seed_fleet",
]

#: The rig's options that belong to the refresh use case; the rest are the worker's.
_REFRESHER_OPTIONS = ("lease_seconds", "call_timeout", "public_url", "policy", "notifier")

#: The public URL the rig's worker puts in front of re-authorization links.
PUBLIC_URL = "https://igtoken.test"


def client_factory(http: object, base_url: str = "http://emulator.test"):
    """An app -> AsyncClient factory over one shared httpx client, configured as the Runtime does."""
    runtime = Runtime(Settings())
    endpoints = Endpoints.emulator(base_url)

    def make(app: AppRecord) -> AsyncClient:
        config: ClientConfig = runtime.client_config(app, endpoints=endpoints)
        return AsyncClient(config, http=http, retry=NO_RETRY)  # type: ignore[arg-type]

    return make


class Rig:
    """An emulator and a vault sharing one clock, and a worker wired to both."""

    def __init__(self, tmp_path, **worker_options) -> None:
        self.clock = EmulatorClock(TEST_CLOCK_START, frozen=True)
        self.app = create_app(clock=self.clock)
        self.world = self.app.state.world
        self.vault = open_vault(f"sqlite:///{tmp_path / 'vault.db'}", keyring())
        add_demo_app(self.vault, self.clock.now())
        self.http = emulator_async_client(self.app)
        options: dict = {
            "concurrency": 16,
            "batch_size": 200,
            "lease_seconds": 60,
            "call_timeout": 5,
            "public_url": PUBLIC_URL,
        }
        options.update(worker_options)
        refresher = Refresher(
            AsyncVault(self.vault),
            client_factory(self.http),
            clock=self.clock.now,
            owner=default_owner(),
            **{k: options.pop(k) for k in _REFRESHER_OPTIONS if k in options},
        )
        self.worker = RefreshWorker(refresher, **options)

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta.total_seconds())

    async def close(self) -> None:
        await self.worker.aclose()
        await self.http.aclose()
        self.vault.close()
