"""A refresh's event reaches a receiver that verifies it with the stock ``standardwebhooks`` package,
and its payload has exactly the fields docs/webhooks.md lists."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from typing import ClassVar

import httpx
from standardwebhooks import Webhook

from igtoken.app.refresh_wiring import build_worker
from igtoken.app.runtime import SANDBOX_APP, Runtime
from igtoken.config.settings import Settings
from igtoken.core.endpoints import Endpoints
from igtoken.core.models import AccountType, Profile
from igtoken.core.secret import Secret
from igtoken.emulator import EmulatorClock, demo, demo_world
from igtoken.emulator import create_app as create_emulator
from igtoken.notify import generate_secret
from igtoken.testing.fleet import as_access_token
from tests.support.webhooks import Receiver, documented_fields


class _Receiver(Receiver):
    received: ClassVar[list[tuple[bytes, dict[str, str]]]] = []


async def test_a_refresh_event_verifies_with_standardwebhooks_and_matches_the_docs(tmp_path, monkeypatch):
    """token.refreshed, signed with two secrets while rotating, verifies under either with the stock
    library; its data fields are the documented ones, and webhook-id is the payload's id."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    start = datetime.now(UTC).replace(microsecond=0)
    clock = EmulatorClock(start, frozen=True)
    emulator = create_emulator(demo_world(clock=clock))
    world = emulator.state.world
    new, old = generate_secret(), generate_secret()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings = Settings(
        sandbox=True,
        webhook_urls=(f"http://127.0.0.1:{port}/hooks",),
        webhook_secret=Secret(f"{new.reveal()} {old.reveal()}"),
    )
    runtime = Runtime(settings)
    runtime.ensure_sandbox_apps(now=start)
    minted = world.mint_token(
        demo.DEMO_IG_APP_ID, "ig_long", demo.DEMO_BUSINESS, issued_at=(start - timedelta(days=3)).timestamp()
    )
    token = as_access_token(minted, demo.DEMO_BUSINESS_IG_ID)
    profile = Profile(demo.DEMO_BUSINESS_IG_ID, demo.DEMO_BUSINESS, AccountType.BUSINESS)
    account = runtime.vault.save_login(SANDBOX_APP, profile, token, now=start, next_refresh_at=start)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator)) as meta:
            parts = build_worker(
                runtime, endpoints=Endpoints.emulator("http://emulator.test"), http=meta, clock=clock.now
            )
            try:
                report = await parts.worker.run_once(clock.now())
                assert [r.outcome.value for r in report.results] == ["refreshed"]
                await parts.worker.deliver_notifications()
            finally:
                await parts.aclose()
    finally:
        server.shutdown()
        server.server_close()
        runtime.vault.close()

    [(body, headers)] = _Receiver.received
    for secret in (new, old):
        event = Webhook(secret.reveal()).verify(body, headers)
    assert headers["webhook-id"] == event["id"]
    assert event["type"] == "token.refreshed"
    assert event["data"]["account_id"] == account.id
    assert set(event["data"]) == documented_fields()["token.refreshed"]
    assert minted.value not in body.decode()
