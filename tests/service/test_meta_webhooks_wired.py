"""Meta's webhooks through the assembled service: the handshake with the configured verify token,
a signed event recorded in the vault and relayed as ``meta.event`` to a real receiver that verifies
it with the stock ``standardwebhooks`` package, and a wrong signature refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest
from standardwebhooks import Webhook

from igtoken.app.refresh_wiring import deliver_queued
from igtoken.app.runtime import SANDBOX_APP, Runtime
from igtoken.config.settings import Settings
from igtoken.core.endpoints import Endpoints
from igtoken.core.models import AccessToken, AccountType, Profile, TokenKind
from igtoken.core.secret import Secret
from igtoken.emulator import demo
from igtoken.notify import generate_secret
from igtoken.service.assembly import SANDBOX_VERIFY_TOKEN, build_app
from tests.support.webhooks import Receiver, documented_fields

from .test_meta_webhooks import handshake

PUBLIC = "https://tokens.example.com"
VERIFY = "a-verify-token-only-meta-and-we-know"
ADMIN = Secret("an-admin-password-for-tests")


class _Receiver(Receiver):
    received: ClassVar[list[tuple[bytes, dict[str, str]]]] = []


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Service:
    client: httpx.AsyncClient
    runtime: Runtime
    hook_secret: Secret
    account_id: str


def _runtime(tmp_path, monkeypatch, **settings: object) -> Runtime:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return Runtime(Settings(sandbox=True, dev=True, **settings))  # type: ignore[arg-type]


@pytest.fixture
async def service(tmp_path, monkeypatch, receiver: str) -> AsyncIterator[Service]:
    hook_secret = generate_secret()
    runtime = _runtime(
        tmp_path,
        monkeypatch,
        webhook_urls=(receiver,),
        webhook_secret=hook_secret,
        meta_webhook_verify_token=Secret(VERIFY),
    )
    now = datetime.now(UTC)
    runtime.ensure_sandbox_apps(now=now)
    token = AccessToken(
        value=Secret("IGAAtokenvaluethatmustneverleave0123456789"),
        kind=TokenKind.IG_LONG,
        issued_at=now,
        expires_at=now + timedelta(days=60),
        user_id=demo.DEMO_BUSINESS_IG_ID,
        scopes=("instagram_business_basic",),
    )
    profile = Profile(demo.DEMO_BUSINESS_IG_ID, demo.DEMO_BUSINESS, AccountType.BUSINESS)
    account = runtime.vault.save_login(
        SANDBOX_APP, profile, token, now=now, next_refresh_at=now + timedelta(days=1)
    )
    app = build_app(
        runtime,
        public_url=PUBLIC,
        endpoints=Endpoints.emulator("http://emulator.test"),
        worker=False,
        admin_password=ADMIN,
    )
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC)
    try:
        yield Service(client, runtime, hook_secret, account.id)
    finally:
        await client.aclose()
        runtime.vault.close()


def signed(body: bytes, secret: str) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"x-hub-signature-256": f"sha256={digest}", "content-type": "application/json"}


def event_body() -> bytes:
    return json.dumps(
        {
            "object": "instagram",
            "entry": [
                {
                    "id": demo.DEMO_BUSINESS_IG_ID,
                    "time": 1772366400,
                    "changes": [{"field": "comments", "value": {"id": "17865799348089039", "text": "nice"}}],
                    "unexpected": "dropped, not relayed",
                }
            ],
        }
    ).encode()


async def test_the_handshake_answers_the_challenge_with_the_configured_token(service: Service) -> None:
    """IGTOKEN_META_WEBHOOK_VERIFY_TOKEN is what Meta must send; the challenge comes back as text/plain."""
    ok = await service.client.get("/meta/webhooks", params=handshake(token=VERIFY, challenge="2114638932"))
    assert ok.status_code == 200
    assert ok.text == "2114638932" and ok.headers["content-type"].startswith("text/plain")
    wrong = await service.client.get(
        "/meta/webhooks", params=handshake(token="not-it", challenge="2114638932")
    )
    assert wrong.status_code == 403 and "2114638932" not in wrong.text
    # Outside sandbox mode, with a token set, the sandbox default is not accepted.
    sandbox_default = await service.client.get(
        "/meta/webhooks", params=handshake(token=SANDBOX_VERIFY_TOKEN.reveal())
    )
    assert sandbox_default.status_code == 403


async def test_a_signed_event_is_recorded_and_relayed_as_meta_event(service: Service) -> None:
    """Signed with the app secret of the app it is for: 200, a meta_event in the vault (app and account),
    and a meta.event delivery that the stock library verifies, carrying the object, entry ids, the
    account and the documented entry parts, and never the token."""
    body = event_body()
    app_secret = demo.DEMO_IG_APP_SECRET
    response = await service.client.post("/meta/webhooks", content=body, headers=signed(body, app_secret))
    assert response.status_code == 200, response.text

    vault = service.runtime.vault
    app = vault.get_app(SANDBOX_APP)
    recorded = vault.events(types=["meta_event"])
    assert {(e.app_id, e.account_id) for e in recorded} == {(app.id, None), (app.id, service.account_id)}
    assert recorded[0].data == {
        "meta_app_id": demo.DEMO_IG_APP_ID,
        "object": "instagram",
        "entry_ids": [demo.DEMO_BUSINESS_IG_ID],
    }

    attempts = await deliver_queued(service.runtime)
    assert [a.outcome.value for a in attempts] == ["delivered"]
    [(raw, headers)] = _Receiver.received
    event = Webhook(service.hook_secret.reveal()).verify(raw, headers)
    assert event["type"] == "meta.event" and headers["x-igtoken-event"] == "meta.event"
    assert event["data"] == {
        "app_id": app.id,
        "meta_app_id": demo.DEMO_IG_APP_ID,
        "object": "instagram",
        "entry_ids": [demo.DEMO_BUSINESS_IG_ID],
        "account_ids": [service.account_id],
        "entries": [
            {
                "id": demo.DEMO_BUSINESS_IG_ID,
                "time": 1772366400,
                "changes": [{"field": "comments", "value": {"id": "17865799348089039", "text": "nice"}}],
            }
        ],
    }
    assert set(event["data"]) == documented_fields()["meta.event"]
    assert "IGAAtokenvalue" not in raw.decode()


async def test_the_facebook_app_secret_verifies_a_page_event(service: Service) -> None:
    """A page event signed by the Facebook Login app's Meta app secret names that app."""
    body = json.dumps({"object": "page", "entry": [{"id": "1234567890", "time": 1, "changes": []}]}).encode()
    response = await service.client.post(
        "/meta/webhooks", content=body, headers=signed(body, demo.DEMO_FB_APP_SECRET)
    )
    assert response.status_code == 200
    [recorded] = service.runtime.vault.events(types=["meta_event"])
    assert recorded.data["meta_app_id"] == demo.DEMO_FB_APP_ID and recorded.data["object"] == "page"


async def test_a_wrong_signature_is_refused_and_nothing_is_recorded_or_sent(service: Service) -> None:
    """A body signed with any other secret, or tampered with after signing, is 403; no event, no delivery."""
    body = event_body()
    wrong = await service.client.post(
        "/meta/webhooks", content=body, headers=signed(body, "not-the-app-secret")
    )
    tampered = await service.client.post(
        "/meta/webhooks",
        content=body.replace(b"nice", b"evil"),
        headers=signed(body, demo.DEMO_IG_APP_SECRET),
    )
    unsigned = await service.client.post("/meta/webhooks", content=body)
    assert [wrong.status_code, tampered.status_code, unsigned.status_code] == [403, 403, 403]
    assert service.runtime.vault.events(types=["meta_event"]) == []
    assert await deliver_queued(service.runtime) == []
    assert _Receiver.received == []


async def test_sandbox_mode_has_a_default_verify_token(tmp_path, monkeypatch) -> None:
    """With no verify token set, a sandbox service accepts the sandbox default (shown in the banner);
    a non-sandbox one refuses every handshake."""
    runtime = _runtime(tmp_path, monkeypatch)
    runtime.ensure_sandbox_apps(now=datetime.now(UTC))
    endpoints = Endpoints.emulator("http://emulator.test")
    try:
        for sandbox, expected in ((True, 200), (False, 403)):
            app = build_app(
                runtime,
                public_url=PUBLIC,
                endpoints=endpoints,
                sandbox=sandbox,
                worker=False,
                admin_password=ADMIN,
            )
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC) as client:
                answer = await client.get(
                    "/meta/webhooks", params=handshake(token=SANDBOX_VERIFY_TOKEN.reveal())
                )
            assert answer.status_code == expected
    finally:
        runtime.vault.close()


async def test_a_page_event_names_the_facebook_login_account_of_that_page(wired) -> None:
    """A Facebook Login account is found by its Page id: a page event for it is recorded on the account."""
    from .test_wired_facebook import connect_fb

    account_id = await connect_fb(wired)
    page_id = wired.vault.get_account(account_id).page_id
    assert page_id
    body = json.dumps({"object": "page", "entry": [{"id": page_id, "time": 1, "changes": []}]}).encode()
    response = await wired.service.post(
        "/meta/webhooks", content=body, headers=signed(body, demo.DEMO_FB_APP_SECRET)
    )
    assert response.status_code == 200, response.text
    [on_account] = wired.vault.events(types=["meta_event"], account_id=account_id)
    assert on_account.data == {"meta_app_id": demo.DEMO_FB_APP_ID, "object": "page", "entry_ids": [page_id]}
