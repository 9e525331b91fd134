"""Signed webhooks from the worker, configured from settings, survive a receiver that is down.

Counterparts: ``tests/notify`` (signing and delivery on their own) and ``tests/refresh/test_worker.py``.
"""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from typing import ClassVar

import httpx

from igtoken.app.refresh_wiring import build_worker
from igtoken.app.runtime import SANDBOX_APP, Runtime
from igtoken.config.settings import Settings
from igtoken.core.endpoints import Endpoints
from igtoken.core.models import AccountType, Profile
from igtoken.core.secret import Secret
from igtoken.emulator import EmulatorClock, demo, demo_world
from igtoken.emulator import create_app as create_emulator
from igtoken.notify import verify
from igtoken.testing.fleet import as_access_token
from tests.support.webhooks import Receiver

SIGNING_KEY = "webhook-signing-key-0123456789"


class _Receiver(Receiver):
    received: ClassVar[list[tuple[bytes, dict[str, str]]]] = []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_refresh_event_reaches_a_receiver_that_was_down(tmp_path, monkeypatch):
    """token.refreshed is queued while the receiver refuses connections and delivered, signed, later."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    start = datetime.now(UTC).replace(microsecond=0)
    clock = EmulatorClock(start, frozen=True)
    emulator = create_emulator(demo_world(clock=clock))
    world = emulator.state.world
    port = _free_port()
    settings = Settings(
        sandbox=True,
        webhook_urls=(f"http://127.0.0.1:{port}/hooks",),
        webhook_secret=Secret(SIGNING_KEY),
    )
    runtime = Runtime(settings)
    runtime.ensure_sandbox_apps(now=start)
    minted = world.mint_token(
        demo.DEMO_IG_APP_ID, "ig_long", demo.DEMO_BUSINESS, issued_at=(start - timedelta(days=3)).timestamp()
    )
    token = as_access_token(minted, demo.DEMO_BUSINESS_IG_ID)
    profile = Profile(demo.DEMO_BUSINESS_IG_ID, demo.DEMO_BUSINESS, AccountType.BUSINESS)
    account = runtime.vault.save_login(SANDBOX_APP, profile, token, now=start, next_refresh_at=start)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator)) as meta:
        parts = build_worker(
            runtime, endpoints=Endpoints.emulator("http://emulator.test"), http=meta, clock=clock.now
        )
        try:
            report = await parts.worker.run_once(clock.now())
            assert [r.outcome.value for r in report.results] == ["refreshed"]
            await parts.worker.deliver_notifications()  # the receiver is down: refused, kept
            assert _Receiver.received == []

            server = ThreadingHTTPServer(("127.0.0.1", port), _Receiver)
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            try:
                clock.advance(3600)  # past the first retry delays
                await parts.worker.deliver_notifications()
            finally:
                server.shutdown()
                server.server_close()
        finally:
            await parts.aclose()
            refreshed = runtime.vault.current_token(account.id)
            runtime.vault.close()

    assert len(_Receiver.received) == 1
    body, header = _Receiver.received[0]
    verify(body, header, Secret(SIGNING_KEY), clock.now())
    event = json.loads(body)
    assert event["type"] == "token.refreshed"
    assert event["data"]["account_id"] == account.id
    for secret in (minted.value, refreshed.token.value.reveal()):
        assert secret not in body.decode()
