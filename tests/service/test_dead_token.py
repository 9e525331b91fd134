"""Issue 20: a token Meta calls dead, seen by the service, marks the account at once.

After a password change (Meta: 190/460) the first proxied call that gets Meta's 190 flips the account
to ``needs_reauth`` (event with an absolute link, ``account.needs_reauth`` webhook queued), and the
next ``/v1/…/token`` is 409 with a link that opens the connect page. Throttles, transient faults and
errors that are not a dead token leave the account as it was.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from igtoken.app.refresh_wiring import build_refresher
from igtoken.core.endpoints import Endpoints
from igtoken.core.exceptions import NeedsReauthorizationError
from igtoken.core.secret import Secret
from igtoken.emulator import demo

from .test_wired_facebook import connect_fb
from .test_wired_service import connect

PUBLIC = "http://service.test"  # the wired service's public URL (tests/service/conftest.py)
HOOK = "https://hooks.example/igtoken"


def auth(w) -> dict[str, str]:
    return {"authorization": f"Bearer {w.key}", "accept": "application/json"}


def with_webhooks(w) -> None:
    """Configure a webhook receiver before the service builds its refresher (on first use)."""
    settings = dataclasses.replace(
        w.runtime.settings, webhook_urls=(HOOK,), webhook_secret=Secret("whsec-" + "x" * 32)
    )
    w.runtime.settings = settings


def needs_reauth_events(w, account_id: str) -> list:
    return w.vault.events(account_id=account_id, types=["needs_reauth"])


def queued_needs_reauth(w) -> list[dict]:
    return [d.payload for d in w.vault.webhooks.list_all() if d.event_type == "account.needs_reauth"]


async def assert_409_with_working_link(w, account_id: str) -> str:
    refused = await w.service.get(f"/v1/accounts/{account_id}/token", headers=auth(w))
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["type"] == "needs_reauthorization"
    url = error["reauthorize_url"]
    assert url.startswith(f"{PUBLIC}/connect/"), url
    page = await w.service.get(urlsplit(url).path)
    assert page.status_code == 200, page.text
    assert "Continue to" in page.text
    return url


async def test_first_proxied_190_460_flips_the_account_and_the_token_api_answers_409(wired):
    """Instagram Login: password change → the proxied ``me`` gets Meta's 190/460 (passed through), the
    account is needs_reauth at once with one event and one webhook carrying the same absolute link, and
    ``/token`` is 409 with that link, which opens the connect page."""
    with_webhooks(wired)
    account_id = await connect(wired)
    graph = f"/v1/accounts/{account_id}/graph/me"
    assert (await wired.service.get(graph, headers=auth(wired))).status_code == 200
    answer = await wired.meta.post("/_emulator/accounts/demo_business/password-change")
    assert answer.status_code == 200, answer.text
    proxied = await wired.service.get(graph, headers=auth(wired))
    assert proxied.status_code == 400, proxied.text
    error = proxied.json()["error"]
    assert (error["code"], error["error_subcode"]) == (190, 460)  # Meta's answer, as it came
    account = wired.vault.get_account(account_id)
    assert account.status == "needs_reauth" and "460" in (account.status_reason or "")
    (event,) = needs_reauth_events(wired, account_id)
    assert event.data["source"] == "graph proxy" and event.data["error_code"] == 190
    link = event.data["reauthorize_url"]
    assert link.startswith(f"{PUBLIC}/connect/")
    (payload,) = queued_needs_reauth(wired)
    assert link in json.dumps(payload)
    assert await assert_409_with_working_link(wired, account_id) == link
    # The proxy too refuses from now on, without asking Meta.
    again = await wired.service.get(graph, headers=auth(wired))
    assert again.status_code == 409
    assert len(needs_reauth_events(wired, account_id)) == 1


async def test_facebook_page_token_190_460_through_the_proxy(wired):
    """Facebook Login: the Facebook user's password change kills the page token; the first proxied
    call marks the account, and ``/token`` is 409 with a link to the connect page."""
    account_id = await connect_fb(wired)
    answer = await wired.meta.post(f"/_emulator/facebook-users/{demo.DEMO_FB_USER}/password-change")
    assert answer.status_code == 200, answer.text
    proxied = await wired.service.get(
        f"/v1/accounts/{account_id}/graph/{demo.DEMO_PAGE_LINKED_ID}", headers=auth(wired)
    )
    assert proxied.status_code == 400 and proxied.json()["error"]["error_subcode"] == 460
    assert wired.vault.get_account(account_id).status == "needs_reauth"
    await assert_409_with_working_link(wired, account_id)


def meta_error(code: int, subcode: int | None = None, status: int = 400) -> dict:
    error: dict = {"message": "scripted", "type": "OAuthException", "code": code, "fbtrace_id": "Atrace"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"kind": "malformed", "status": status, "body": json.dumps({"error": error})}


@pytest.mark.parametrize(
    ("fault", "dead"),
    [
        (meta_error(190), True),  # no subcode: invalid token
        (meta_error(190, 463), True),  # expired
        (meta_error(190, 458), True),  # the app was removed
        (meta_error(190, 492), True),  # session invalid (a Page role lost)
        (meta_error(190, 999), False),  # a subcode Meta does not document as dead
        (meta_error(100), False),  # a bad request
        (meta_error(10), False),  # a permission missing: the token itself is fine
        (meta_error(2, status=500), False),  # transient
        ({"kind": "error"}, False),  # 500 code 2
        ({"kind": "throttle", "wait_minutes": 2}, False),
    ],
)
async def test_only_a_dead_token_answer_marks_the_account(wired, fault, dead):
    account_id = await connect(wired)
    wired.world.faults.add("ig_me", times=1, **fault)
    proxied = await wired.service.get(f"/v1/accounts/{account_id}/graph/me", headers=auth(wired))
    assert proxied.status_code >= 400
    status = wired.vault.get_account(account_id).status
    assert status == ("needs_reauth" if dead else "active"), (fault, status)
    assert bool(needs_reauth_events(wired, account_id)) is dead


async def test_a_190_for_a_token_already_replaced_marks_nothing(wired):
    """A stale answer (the token was refreshed between the call and the marking) leaves the account
    active: only the current token's death counts."""
    account_id = await connect(wired)
    stored = wired.vault.current_token(account_id)
    # Another holder refreshed meanwhile: a newer token is current.
    wired.world.clock.advance(timedelta(days=2).total_seconds())
    refreshed = await wired.service.post(f"/v1/accounts/{account_id}/refresh", headers=auth(wired))
    assert refreshed.status_code == 200, refreshed.text
    assert wired.vault.current_token(account_id).token_id != stored.token_id
    dead = NeedsReauthorizationError("gone", status_code=400, code=190, error_subcode=460)
    parts = build_refresher(
        wired.runtime,
        endpoints=Endpoints.emulator("http://emulator.test"),
        http=wired.meta,
        public_url=PUBLIC,
    )
    try:
        result = await parts.refresher.token_dead(account_id, stored.token_id, dead, source="test")
    finally:
        await parts.aclose()
    assert result is not None and result.outcome.value == "skipped"
    assert wired.vault.get_account(account_id).status == "active"


async def test_token_api_on_an_expired_token_marks_the_account(wired):
    """``GET /token`` on a token past its expiry answers 409 and marks the account (event with link),
    so the dashboard, the worker and the CLI say so too."""
    account_id = await connect(wired)
    wired.world.clock.advance(timedelta(days=61).total_seconds())
    refused = await wired.service.get(f"/v1/accounts/{account_id}/token", headers=auth(wired))
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["reauthorize_url"].startswith(f"{PUBLIC}/connect/")
    assert wired.vault.get_account(account_id).status == "needs_reauth"
    (event,) = needs_reauth_events(wired, account_id)
    assert event.data["source"] == "token API"


async def test_token_api_refresh_after_a_password_change_is_409_with_link(wired):
    """Instagram Login: ``POST /refresh`` after a password change (Meta's 190/460 on the refresh) is
    409 with the link, and the account is needs_reauth for every reader."""
    account_id = await connect(wired)
    wired.world.clock.advance(timedelta(days=2).total_seconds())
    wired.world.change_password("demo_business")
    answer = await wired.service.post(f"/v1/accounts/{account_id}/refresh", headers=auth(wired))
    assert answer.status_code == 409, answer.text
    assert "460" in answer.json()["error"]["message"]
    assert wired.vault.get_account(account_id).status == "needs_reauth"
    await assert_409_with_working_link(wired, account_id)
