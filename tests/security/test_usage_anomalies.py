"""Usage anomaly alerts: a read burst over the baseline, a revoked key's use, a burst of refused keys.

Each raises a ``security.anomaly`` event that verifies like every other webhook, a log line and
the ``igtoken_security_anomalies_total`` counter.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from igtoken.app.refresh_wiring import webhook_endpoints
from igtoken.app.runtime import Runtime, allow_redirect_uris
from igtoken.config.settings import Settings
from igtoken.core.endpoints import Endpoints
from igtoken.core.models import AccessToken, AccountType, Profile, TokenKind
from igtoken.core.secret import Secret
from igtoken.emulator import create_app as create_emulator
from igtoken.emulator import demo
from igtoken.emulator.demo import demo_world
from igtoken.notify import MemoryDeliveryLog, Notifier, verify
from igtoken.refresh.deliveries import VaultDeliveryLog
from igtoken.sandbox import SANDBOX_APP
from igtoken.service.anomaly import AnomalyThresholds, UsageWatch
from igtoken.service.assembly import build_app

PUBLIC = "http://service.test"
HOOK = "https://hooks.example.com/igtoken"
HOOK_SECRET = Secret("anomaly-test-signing-secret-0123456789")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def anomalies(log: MemoryDeliveryLog) -> list[dict[str, Any]]:
    return [json.loads(d.body)["data"] for d in log.all() if d.event_type == "security.anomaly"]


def watch(clock: Clock, **thresholds: float) -> tuple[UsageWatch, MemoryDeliveryLog]:
    from igtoken.notify import Endpoint

    log = MemoryDeliveryLog()
    notifier = Notifier([Endpoint(HOOK, HOOK_SECRET)], log)
    return UsageWatch(notifier, AnomalyThresholds(**thresholds), clock), log


def test_burst_far_above_a_rolling_baseline() -> None:
    """A key that reads ~20 times a window for hours: 150 in one window is within 10× its baseline,
    200 is not. Steady use never alerts."""
    clock = Clock()
    w, log = watch(clock)
    for _ in range(30):
        for _ in range(20):
            w.used(key_id="igt_steady", account_id="acct-1", kind="token_read")
        clock.now += timedelta(seconds=300)
    assert anomalies(log) == []
    for _ in range(150):
        w.used(key_id="igt_steady", account_id=None, kind="token_read")
    assert anomalies(log) == []
    for _ in range(50):  # 200 in the same window
        w.used(key_id="igt_steady", account_id=None, kind="token_read")
    (alert,) = anomalies(log)
    assert alert["anomaly"] == "read_burst" and alert["api_key_id"] == "igt_steady"
    assert 150 < alert["count"] <= 200 and alert["count"] >= 10 * alert["baseline"] > 150
    assert "anomaly_factor" in alert["fix"] and "IGTOKEN_ANOMALY_*" in alert["fix"]


def test_new_key_burst_and_per_account_baseline() -> None:
    """With no history the floor (IGTOKEN_ANOMALY_MIN_READS) decides; the account is watched too,
    whichever keys read it; one alert per subject per window."""
    clock = Clock()
    w, log = watch(clock, min_reads=50)
    for i in range(120):
        w.used(key_id=f"igt_k{i % 4}", account_id="acct-9", kind="proxy_call")
    alerts = anomalies(log)
    assert [a.get("account_id") for a in alerts] == ["acct-9"]  # each key made 30 (< 50): only the account
    assert "proxy calls by account acct-9" in alerts[0]["reason"]


def test_thresholds_of_zero_turn_alerts_off() -> None:
    clock = Clock()
    w, log = watch(clock, factor=0, refused_burst=0)
    for _ in range(500):
        w.used(key_id="igt_x", account_id="a", kind="token_read")
        w.refused(revoked_key_id=None)
    assert anomalies(log) == []


@dataclass
class Rig:
    service: httpx.AsyncClient
    runtime: Runtime
    account_id: str
    key: str
    clock: Clock
    app: Any

    async def deliver(self) -> list[httpx.Request]:
        """Send the queued webhooks to a receiver that records them."""
        received: list[httpx.Request] = []

        def receiver(request: httpx.Request) -> httpx.Response:
            received.append(request)
            return httpx.Response(204)

        async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as http:
            log = VaultDeliveryLog(self.runtime.vault, owner="test")
            notifier = Notifier(webhook_endpoints(self.runtime.settings), log, client=http)
            await notifier.run_due(self.clock.now + timedelta(seconds=1))
        return received


def anomaly_hooks(requests: list[httpx.Request], now: datetime) -> list[dict[str, Any]]:
    """The security.anomaly webhooks received, each checked as a receiver checks it."""
    out = []
    for request in requests:
        verify(request.content, request.headers, HOOK_SECRET, now)
        body = json.loads(request.content)
        if body["type"] == "security.anomaly":
            out.append(body["data"])
    return out


@pytest.fixture
async def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    emulator = create_emulator(demo_world())
    allow_redirect_uris(emulator, [f"{PUBLIC}/oauth/callback"])
    world = emulator.state.world
    clock = Clock(world.clock.now())
    settings = replace(
        Settings(sandbox=True),
        webhook_urls=(HOOK,),
        webhook_secret=HOOK_SECRET,
        anomaly_min_reads=8,
        anomaly_refused_burst=5,
    )
    runtime = Runtime(settings)
    runtime.ensure_sandbox_apps(now=clock.now, redirect_uris=[f"{PUBLIC}/oauth/callback"])
    minted = world.mint_token(demo.DEMO_IG_APP_ID, "ig_long", demo.DEMO_BUSINESS)
    token = AccessToken(
        Secret(minted.value), TokenKind.IG_LONG, clock.now, clock.now + timedelta(days=60),
        user_id=demo.DEMO_BUSINESS_IG_ID, scopes=("instagram_business_basic",),
    )  # fmt: skip
    account = runtime.vault.save_login(
        SANDBOX_APP, Profile(demo.DEMO_BUSINESS_IG_ID, demo.DEMO_BUSINESS, AccountType.BUSINESS), token,
        now=clock.now, next_refresh_at=clock.now + timedelta(days=30),
    )  # fmt: skip
    meta = httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator), base_url="http://emulator.test")
    app = build_app(
        runtime,
        public_url=PUBLIC,
        endpoints=Endpoints.emulator("http://emulator.test"),
        sandbox=True,
        worker=False,
        http=meta,
        clock=clock,
    )
    _, key = runtime.vault.api_keys.create("reader", now=clock.now)
    service = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC)
    try:
        yield Rig(service, runtime, account.id, key.reveal(), clock, app)
    finally:
        await service.aclose()
        await meta.aclose()
        runtime.vault.close()


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


async def metric(rig: Rig, anomaly: str) -> float:
    text = (await rig.service.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(f'igtoken_security_anomalies_total{{anomaly="{anomaly}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_read_burst_raises_a_signed_event_log_and_metric(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="igtoken.security"):
        for _ in range(8):
            answer = await rig.service.get(f"/v1/accounts/{rig.account_id}/token", headers=auth(rig.key))
            assert answer.status_code == 200, answer.text
    hooks = anomaly_hooks(await rig.deliver(), rig.clock.now)
    assert {h["anomaly"] for h in hooks} == {"read_burst"}
    assert {h.get("account_id") for h in hooks} == {None, rig.account_id}  # the key's and the account's
    assert all(h["count"] == 8 for h in hooks)
    assert any("security anomaly (read_burst)" in r.getMessage() for r in caplog.records)
    assert await metric(rig, "read_burst") == 2


async def test_proxy_calls_count_too(rig: Rig) -> None:
    for _ in range(8):
        answer = await rig.service.get(f"/v1/accounts/{rig.account_id}/graph/me", headers=auth(rig.key))
        assert answer.status_code == 200, answer.text
    hooks = anomaly_hooks(await rig.deliver(), rig.clock.now)
    assert hooks and all("proxy calls" in h["reason"] for h in hooks)


async def test_revoked_key_use_raises_an_event(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    record = rig.runtime.vault.api_keys.revoke("_".join(rig.key.split("_")[:2]), now=rig.clock.now)
    with caplog.at_level(logging.WARNING, logger="igtoken.security"):
        answer = await rig.service.get(f"/v1/accounts/{rig.account_id}/token", headers=auth(rig.key))
    assert answer.status_code == 401
    (hook,) = anomaly_hooks(await rig.deliver(), rig.clock.now)
    assert hook["anomaly"] == "revoked_key" and hook["api_key_id"] == record.prefix
    assert "leaked" in hook["fix"]
    assert any("revoked_key" in r.getMessage() for r in caplog.records)
    assert await metric(rig, "revoked_key") == 1


async def test_burst_of_refused_keys(rig: Rig) -> None:
    for i in range(6):
        answer = await rig.service.get("/v1/accounts", headers=auth(f"igt_deadbeef_guess{i}"))
        assert answer.status_code == 401
    (hook,) = anomaly_hooks(await rig.deliver(), rig.clock.now)
    assert hook["anomaly"] == "refused_keys" and hook["count"] == 5
    assert await metric(rig, "refused_keys") == 1
