"""The Graph proxy (``/v1/accounts/{id}/graph/{path}``) against the in-process emulator.

Facebook Login calls carry ``appsecret_proof`` (apps with "Require App Secret" on work);
caller-supplied credentials in the query are dropped.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl

from igtoken._models import TokenKind
from igtoken._secret import Secret
from igtoken.emulator import demo
from igtoken.runtime import SANDBOX_FB_APP

from .conftest import Wired, bearer
from .test_wired_facebook import connect_fb


async def require_proof(w: Wired, on: bool = True) -> None:
    answer = await w.meta.patch(
        f"/_emulator/apps/{demo.DEMO_FB_APP_ID}", json={"require_appsecret_proof": on}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["require_appsecret_proof"] is on


def proof_of(token: str, secret: str = demo.DEMO_FB_APP_SECRET) -> str:
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def page_token(w: Wired, account_id: str) -> str:
    return w.vault.current_token(account_id, TokenKind.FB_PAGE).token.value.reveal()


async def test_proxied_facebook_calls_carry_appsecret_proof_when_meta_requires_it(wired):
    """With "Require App Secret" on, proxied ``me``, ``me/accounts`` and a Page node answer 200: each
    forwarded call carried the proof of the account's token under the Meta app secret."""
    account_id = await connect_fb(wired)
    await require_proof(wired)
    wired.world.log.clear()
    graph = f"/v1/accounts/{account_id}/graph"
    me = await wired.service.get(f"{graph}/me", params={"fields": "id,name"}, headers=bearer(wired))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == demo.DEMO_PAGE_LINKED_ID
    pages = await wired.service.get(f"{graph}/me/accounts", headers=bearer(wired))
    assert pages.status_code == 200, pages.text
    assert any(p["id"] == demo.DEMO_PAGE_LINKED_ID for p in pages.json()["data"])
    page = await wired.service.get(
        f"{graph}/{demo.DEMO_PAGE_LINKED_ID}", params={"fields": "name"}, headers=bearer(wired)
    )
    assert page.status_code == 200, page.text
    assert page.json()["name"] == "Demo Business Page"
    expected = proof_of(page_token(wired, account_id))
    sent = wired.world.log.entries(host="graph.facebook.com")
    assert len(sent) == 3
    for entry in sent:
        assert dict(parse_qsl(entry.query))["appsecret_proof"] == expected


async def test_caller_supplied_token_and_proof_are_dropped(wired):
    """``access_token``, ``appsecret_proof`` and ``appsecret_time`` from the caller never reach Meta: the
    proxy's own proof goes alone, once, and the call works."""
    account_id = await connect_fb(wired)
    await require_proof(wired)
    wired.world.log.clear()
    answer = await wired.service.get(
        f"/v1/accounts/{account_id}/graph/me",
        params=[
            ("fields", "id"),
            ("access_token", "EAAstolen"),
            ("appsecret_proof", "0" * 64),
            ("appsecret_time", "1700000000"),
            ("APPSECRET_PROOF", "f" * 64),
        ],
        headers=bearer(wired),
    )
    assert answer.status_code == 200, answer.text
    (entry,) = wired.world.log.entries(host="graph.facebook.com")
    pairs = parse_qsl(entry.query)
    names = [k.lower() for k, _ in pairs]
    assert "access_token" not in names and "appsecret_time" not in names
    assert names.count("appsecret_proof") == 1
    assert dict(pairs)["appsecret_proof"] == proof_of(page_token(wired, account_id))
    assert ("fields", "id") in pairs


async def test_wrong_stored_app_secret_answers_metas_error_not_500(wired):
    """With a wrong Meta app secret in the vault, Meta refuses the proof: its error comes back (4xx)."""
    account_id = await connect_fb(wired)
    await require_proof(wired)
    wired.vault.set_app_secret(SANDBOX_FB_APP, Secret("not-the-meta-app-secret"), now=wired.now(), meta=True)
    graph = f"/v1/accounts/{account_id}/graph"
    for path in ("me", "me/accounts", demo.DEMO_PAGE_LINKED_ID):
        answer = await wired.service.get(f"{graph}/{path}", headers=bearer(wired))
        assert answer.status_code == 400, (path, answer.status_code, answer.text)
        error = answer.json()["error"]
        assert error["code"] == 100 and "appsecret_proof" in error["message"]


def caller_token(w: Wired, token_id: str) -> str:
    """The value of the token the emulator logged a call with (an issued token or APP_ID|SECRET)."""
    for token in w.world.tokens.values():
        if token.token_id == token_id:
            return str(token.value)
    assert token_id == f"app-{demo.DEMO_FB_APP_ID}", token_id
    return f"{demo.DEMO_FB_APP_ID}|{demo.DEMO_FB_APP_SECRET}"


async def test_on_demand_page_check_sends_the_proof(wired):
    """``POST /v1/accounts/{id}/refresh`` of a Facebook Login account (debug_token with the Meta app's
    token) works with "Require App Secret" on, and its debug_token call carries that token's proof."""
    account_id = await connect_fb(wired)
    await require_proof(wired)
    wired.world.log.clear()
    checked = await wired.service.post(f"/v1/accounts/{account_id}/refresh", headers=bearer(wired))
    assert checked.status_code == 200, checked.text
    (entry,) = wired.world.log.entries(endpoint="fb_debug_token")
    assert entry.status == 200 and entry.token_id
    proof = dict(parse_qsl(entry.query))["appsecret_proof"]
    assert proof == proof_of(caller_token(wired, entry.token_id))


async def test_openapi_description_says_the_proof_is_added(wired):
    schema = (await wired.service.get("/api/openapi.json")).json()
    for method in ("get", "post", "delete"):
        operation = schema["paths"]["/v1/accounts/{account_id}/graph/{path}"][method]
        assert "appsecret_proof" in operation["description"]
        assert "Require App Secret" in operation["description"]
