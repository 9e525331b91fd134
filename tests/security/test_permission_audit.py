"""The scheduled permission audit: weekly under a moved clock, a signed ``permissions.unused`` event."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from igtoken.app.permission_audit import (
    PermissionAuditor,
    audit_apps,
    audit_grants,
    auditor_task,
    last_audit,
)
from igtoken.core.models import AccessToken, AccountType, Profile, TokenKind
from igtoken.core.secret import Secret
from igtoken.emulator import demo
from igtoken.notify import Endpoint, MemoryDeliveryLog, Notifier, verify
from igtoken.vault import KeyRing, Vault
from igtoken.vault.crypto import generate_key_material
from igtoken.vault.engine import create_vault_engine
from igtoken.vault.migrate import upgrade

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOOK_SECRET = Secret("audit-test-signing-secret-0123456789")


def open_test_vault(tmp_path: Path) -> Vault:
    url = f"sqlite:///{tmp_path / 'vault.db'}"
    upgrade(url)
    return Vault(create_vault_engine(url), KeyRing({"k1": generate_key_material()}, active="k1"))


def connect(vault: Vault, username: str, scopes: tuple[str, ...], ig_id: str) -> None:
    token = AccessToken(
        Secret(f"IGAA{username}tokenvalue0123456789"), TokenKind.IG_LONG, T0, T0 + timedelta(days=60),
        user_id=ig_id, scopes=scopes,
    )  # fmt: skip
    vault.save_login("shop", Profile(ig_id, username, AccountType.BUSINESS), token, now=T0, scopes=scopes)


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    v = open_test_vault(tmp_path)
    v.add_app(
        "shop",
        instagram_app_id=demo.DEMO_IG_APP_ID,
        app_secret=Secret(demo.DEMO_IG_APP_SECRET),
        redirect_uris=["https://tokens.example.com/oauth/callback"],
        now=T0,
        default_scopes=("instagram_business_basic",),
    )
    connect(vault=v, username="alice", ig_id="1784100001",
            scopes=("instagram_business_basic", "instagram_business_manage_messages"))  # fmt: skip
    connect(vault=v, username="bob", ig_id="1784100002",
            scopes=("instagram_business_basic", "instagram_business_content_publish"))  # fmt: skip
    return v


def test_unused_scopes_per_app(vault: Vault) -> None:
    (shop,) = audit_apps(vault.list_apps(), vault.list_accounts())
    assert shop.unused == ("instagram_business_content_publish", "instagram_business_manage_messages")
    assert shop.accounts == 2
    assert "igtoken login --app shop" in shop.fix and "App Dashboard" in shop.fix


def test_streamed_grants_give_the_same_audit_and_skip_deleted_accounts(vault: Vault) -> None:
    """The scheduled audit reads grants row by row (no account list held); deleted accounts do not count."""
    apps = vault.list_apps()
    assert audit_grants(apps, vault.granted_scopes()) == audit_apps(apps, vault.list_accounts())
    connect(vault=vault, username="carol", ig_id="1784100003",
            scopes=("instagram_business_basic", "instagram_business_manage_comments"))  # fmt: skip
    carol = vault.find_account("shop", "1784100003")
    vault.delete_account_data(carol.id, now=T0)
    [(count, granted)] = vault.granted_scopes().values()
    assert count == 2 and "instagram_business_manage_comments" not in granted
    assert audit_grants(apps, vault.granted_scopes()) == audit_apps(apps, vault.list_accounts())


def test_weekly_under_a_moved_clock_and_the_event_verifies(vault: Vault) -> None:
    """First check audits at once; six days later nothing; seven days after, the audit runs again. Each
    run queues a permissions.unused webhook that verifies like every other one."""
    log = MemoryDeliveryLog()
    received: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    client = httpx.AsyncClient(transport=httpx.MockTransport(receiver))
    notifier = Notifier([Endpoint("https://hooks.example.com/ig", HOOK_SECRET)], log, client=client)
    auditor = PermissionAuditor(vault, notifier, every=timedelta(days=7))

    first = auditor.run_if_due(T0)
    assert first is not None
    assert auditor.run_if_due(T0 + timedelta(days=6, hours=23)) is None
    second = auditor.run_if_due(T0 + timedelta(days=7))
    assert second is not None and second.at == T0 + timedelta(days=7)
    assert [d.event_type for d in log.all()] == ["permissions.unused"] * 2

    asyncio.run(notifier.run_due(T0 + timedelta(days=7)))
    asyncio.run(client.aclose())
    assert len(received) == 2
    request = received[-1]
    verify(request.content, request.headers, HOOK_SECRET, T0 + timedelta(days=7))
    body = json.loads(request.content)
    assert body["type"] == "permissions.unused"
    assert body["data"]["app_name"] == "shop"
    assert body["data"]["scopes"] == "instagram_business_content_publish instagram_business_manage_messages"
    assert "re-authorize" in body["data"]["fix"]

    shown = last_audit(vault, now=T0 + timedelta(days=8))
    assert shown is not None and shown.at == T0 + timedelta(days=7)
    assert shown.apps[0].unused == second.apps[0].unused


def test_configurable_interval_and_off(vault: Vault) -> None:
    notifier = Notifier([], MemoryDeliveryLog())
    daily = PermissionAuditor(vault, notifier, every=timedelta(days=1))
    assert daily.run_if_due(T0) is not None
    assert daily.run_if_due(T0 + timedelta(days=1)) is not None
    off = PermissionAuditor(vault, notifier, every=timedelta(0))
    assert off.run_if_due(T0 + timedelta(days=30)) is None


def test_background_task_runs_the_audit_when_the_clock_moves(vault: Vault) -> None:
    """The service's/worker's task checks on its interval; moving the clock a week triggers the next audit."""
    log = MemoryDeliveryLog()
    notifier = Notifier([Endpoint("https://hooks.example.com/ig", HOOK_SECRET)], log)
    auditor = PermissionAuditor(vault, notifier)
    now = [T0]

    async def run() -> None:
        task = asyncio.create_task(auditor_task(auditor, clock=lambda: now[0], interval=0.01)())
        await asyncio.sleep(0.2)
        assert len(log.all()) == 1
        now[0] = T0 + timedelta(days=7, minutes=1)
        for _ in range(200):
            await asyncio.sleep(0.01)
            if len(log.all()) == 2:
                break
        task.cancel()

    asyncio.run(run())
    assert len(log.all()) == 2
