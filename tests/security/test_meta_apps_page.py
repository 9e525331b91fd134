"""The dashboard's "Meta apps" page: reachable from the nav, the three URLs, the last audit, and
"Add a Meta app" with the same refusals and live checks as ``igtoken setup``."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from igtoken.app.permission_audit import PermissionAuditor
from igtoken.app.runtime import Runtime, allow_redirect_uris
from igtoken.config.settings import Settings
from igtoken.core.endpoints import Endpoints
from igtoken.core.models import AccessToken, AccountType, Profile, TokenKind
from igtoken.core.secret import Secret
from igtoken.emulator import create_app as create_emulator
from igtoken.emulator import demo
from igtoken.emulator.demo import demo_world
from igtoken.notify import MemoryDeliveryLog, Notifier
from igtoken.sandbox import SANDBOX_APP
from igtoken.service.assembly import build_app

PUBLIC = "http://service.test"


@pytest.fixture
async def signed_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime, Any]]:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    emulator = create_emulator(demo_world())
    allow_redirect_uris(emulator, [f"{PUBLIC}/oauth/callback"])
    world = emulator.state.world
    runtime = Runtime(Settings(sandbox=True))
    runtime.ensure_sandbox_apps(now=world.clock.now(), redirect_uris=[f"{PUBLIC}/oauth/callback"])
    meta = httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator), base_url="http://emulator.test")
    app = build_app(
        runtime,
        public_url=PUBLIC,
        endpoints=Endpoints.emulator("http://emulator.test"),
        sandbox=True,
        worker=False,
        http=meta,
        clock=world.clock.now,
    )
    service = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC)
    signin = await service.get("/signin")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', signin.text).group(1)  # type: ignore[union-attr]
    password = app.state.igtoken.admin_password.reveal()
    assert (await service.post("/signin", data={"csrf_token": csrf, "password": password})).status_code == 303
    try:
        yield service, runtime, world
    finally:
        await service.aclose()
        await meta.aclose()
        runtime.vault.close()


async def form_csrf(service: httpx.AsyncClient) -> str:
    page = await service.get("/dashboard/apps")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]


async def add(service: httpx.AsyncClient, **fields: str) -> httpx.Response:
    data = {"flow": "instagram_login", "name": "shop", "app_id": demo.DEMO_IG_APP_ID,
            "app_secret": demo.DEMO_IG_APP_SECRET, "scopes": "", **fields}  # fmt: skip
    return await service.post("/dashboard/apps", data={"csrf_token": await form_csrf(service), **data})


async def test_reachable_with_the_three_urls_and_the_guide(signed_in: Any) -> None:
    service, _runtime, _world = signed_in
    home = await service.get("/dashboard")
    assert 'href="/dashboard/apps"' in home.text
    page = await service.get("/dashboard/apps")
    assert page.status_code == 200
    for url in ("/oauth/callback", "/meta/deauthorize", "/meta/data-deletion"):
        assert f"<code>{PUBLIC}{url}</code>" in page.text
    assert "Add a Meta app" in page.text and "Business login settings" in page.text
    fb = await service.get("/dashboard/apps", params={"flow": "facebook_login"})
    assert "Valid OAuth Redirect URIs" in fb.text


async def test_good_values_are_checked_live_and_saved(signed_in: Any) -> None:
    service, runtime, _world = signed_in
    done = await add(service)
    assert done.status_code == 303, done.text
    page = await service.get("/dashboard/apps")
    assert "Meta accepted app" in page.text
    assert runtime.vault.get_app("shop").redirect_uris == (f"{PUBLIC}/oauth/callback",)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"app_secret": "wrong-secret"}, "Meta rejects the app secret"),
        ({"app_id": demo.DEMO_IG_META_APP_ID}, "Invalid platform app"),
        ({"app_id": "shop"}, "digits only"),
        ({"scopes": "user_profile"}, "Basic Display"),
        (
            {
                "flow": "facebook_login",
                "app_id": demo.DEMO_FB_APP_ID,
                "app_secret": demo.DEMO_FB_APP_SECRET,
                "scopes": "instagram_business_basic",
            },
            "Instagram Login",
        ),
    ],
)
async def test_refusals_with_their_fix(signed_in: Any, fields: dict[str, str], words: str) -> None:
    service, runtime, _world = signed_in
    refused = await add(service, **fields)
    assert refused.status_code == 422
    assert words in refused.text and "Fix:" in refused.text and 'role="alert"' in refused.text
    assert "shop" not in [a.name for a in runtime.vault.list_apps()]


async def test_shows_the_last_permission_audit(signed_in: Any) -> None:
    service, runtime, world = signed_in
    now = world.clock.now()
    scopes = ("instagram_business_basic", "instagram_business_manage_messages")
    token = AccessToken(
        Secret("IGAAexampletokenvalue0123456789"), TokenKind.IG_LONG, now, now + timedelta(days=60),
        user_id=demo.DEMO_BUSINESS_IG_ID, scopes=scopes,
    )  # fmt: skip
    runtime.vault.save_login(
        SANDBOX_APP, Profile(demo.DEMO_BUSINESS_IG_ID, demo.DEMO_BUSINESS, AccountType.BUSINESS), token,
        now=now, scopes=scopes,
    )  # fmt: skip
    assert "No audit has run yet" in (await service.get("/dashboard/apps")).text
    PermissionAuditor(runtime.vault, Notifier([], MemoryDeliveryLog())).run(now)
    page = await service.get("/dashboard/apps")
    assert "unused: instagram_business_manage_messages" in page.text
