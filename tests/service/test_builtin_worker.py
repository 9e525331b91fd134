"""The refresh worker that runs inside the service: a due token is refreshed without any request.

Unit and process counterparts: ``tests/refresh/test_worker.py`` and ``test_worker_processes.py``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from igtoken.app.runtime import SANDBOX_APP, Runtime, allow_redirect_uris
from igtoken.config.settings import Settings
from igtoken.core.endpoints import Endpoints
from igtoken.core.models import AccountType, Profile
from igtoken.emulator import create_app as create_emulator
from igtoken.emulator import demo, demo_world
from igtoken.service.assembly import build_app
from igtoken.testing.fleet import as_access_token

from .conftest import PUBLIC, REDIRECT


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


async def test_service_worker_refreshes_a_due_token_and_counts_it(tmp_path, monkeypatch):
    """Started with the service, the worker refreshes a due token, stores it, and the metrics say so."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    emulator = create_emulator(demo_world())
    allow_redirect_uris(emulator, [REDIRECT])
    world = emulator.state.world
    runtime = Runtime(Settings(sandbox=True))
    now = datetime.now(UTC)
    runtime.ensure_sandbox_apps(now=now, redirect_uris=[REDIRECT])
    minted = world.mint_token(
        demo.DEMO_IG_APP_ID, "ig_long", demo.DEMO_BUSINESS, issued_at=(now - timedelta(days=3)).timestamp()
    )
    old = as_access_token(minted, demo.DEMO_BUSINESS_IG_ID)
    profile = Profile(demo.DEMO_BUSINESS_IG_ID, demo.DEMO_BUSINESS, AccountType.BUSINESS)
    account = runtime.vault.save_login(SANDBOX_APP, profile, old, now=now, next_refresh_at=now)

    meta = httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator), base_url="http://emulator.test")
    app = build_app(
        runtime,
        public_url=PUBLIC,
        endpoints=Endpoints.emulator("http://emulator.test"),
        sandbox=True,
        worker=True,
        http=meta,
    )
    try:
        async with app.router.lifespan_context(app):
            for _ in range(200):
                if runtime.vault.current_token(account.id).token.value != old.value:
                    break
                await asyncio.sleep(0.05)
            current = runtime.vault.current_token(account.id)
            metrics = app.state.igtoken.metrics.render().decode()
    finally:
        await meta.aclose()
        runtime.vault.close()

    assert current.token.value != old.value
    assert current.next_refresh_at is not None
    assert current.next_refresh_at > now + timedelta(days=5)
    assert 'igtoken_refreshes_total{outcome="refreshed"} 1.0' in metrics
    assert len(world.log.entries(endpoint="ig_refresh_token")) == 1
