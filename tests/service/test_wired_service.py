"""The wired service in-process: vault on SQLite, the emulator over ASGI, the service over ASGI."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import urlsplit

import httpx
import pytest

from igtoken.emulator import demo

from .conftest import PUBLIC, REDIRECT, Wired, bearer, sign


def new_link(w: Wired, **kwargs) -> str:
    _link, code = w.vault.links.create("demo", now=w.now(), expires_at=w.now().replace(year=2099), **kwargs)
    return code.reveal()


async def start(w: Wired, code: str, *, account: str = "demo_business", decision: str = "approve") -> str:
    """Open the link, continue to Instagram, decide on the emulator: the callback path + query."""
    landing = await w.service.get(f"/connect/{code}")
    assert landing.status_code == 200 and "Continue to Instagram" in landing.text
    hop = await w.service.get(f"/connect/{code}/authorize")
    assert hop.status_code == 303
    authorize = hop.headers["location"]
    assert authorize.startswith("http://emulator.test/www.instagram.com/oauth/authorize?")
    back = await w.meta.get(f"{authorize}&emulator_account={account}&emulator_decision={decision}")
    assert back.status_code in (302, 303)
    target = urlsplit(back.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT
    return f"{target.path}?{target.query}"


def event_count(w: Wired) -> int:
    return len(w.vault.events(limit=100_000))


async def connect(w: Wired, account: str = "demo_business") -> str:
    callback = await start(w, new_link(w, label="for tests"), account=account)
    done = await w.service.get(callback)
    assert done.status_code == 200, done.text
    return w.vault.list_accounts()[-1].id


async def test_connect_link_to_token_and_graph_proxy(wired):
    """Link → consent → callback stores the account; the token API serves a token Meta accepts."""
    callback = await start(wired, new_link(wired, label="Shop"))
    done = await wired.service.get(callback)
    assert done.status_code == 200 and "@demo_business is now connected" in done.text
    [account] = wired.vault.list_accounts()
    assert account.username == "demo_business" and account.status == "active"
    token = await wired.service.get(f"/v1/accounts/{account.id}/token", headers=bearer(wired))
    assert token.status_code == 200 and token.headers["cache-control"] == "no-store"
    body = token.json()
    assert body["access_token"].startswith("IG") and body["kind"] == "ig_long"
    assert wired.world.tokens[body["access_token"]].subject  # the emulator issued it and knows it
    reads = wired.vault.events(types=["token_read"], account_id=account.id)
    assert len(reads) == 1 and reads[0].data["reader"].startswith("igt_")
    me = await wired.service.get(
        f"/v1/accounts/{account.id}/graph/me", params={"fields": "username"}, headers=bearer(wired)
    )
    assert me.status_code == 200 and me.json()["username"] == "demo_business"
    assert "x-business-use-case-usage" in me.headers


async def test_callback_twice_is_refused_and_stores_nothing(wired):
    """A replayed callback gets the stale page and writes nothing."""
    callback = await start(wired, new_link(wired))
    assert (await wired.service.get(callback)).status_code == 200
    before = event_count(wired)
    again = await wired.service.get(callback)
    assert again.status_code == 410 and "already completed" in again.text
    assert event_count(wired) == before and len(wired.vault.list_accounts()) == 1


async def test_stale_and_forged_states_store_nothing(wired):
    """A state past its 15 minutes, or one we never issued, gets a clear page; nothing is stored."""
    callback = await start(wired, new_link(wired))
    wired.world.clock.advance(16 * 60)
    stale = await wired.service.get(callback)
    assert stale.status_code == 410 and "expired" in stale.text
    forged = re.sub(r"state=[^&]+", "state=" + "A" * 43, callback)
    assert (await wired.service.get(forged)).status_code == 410
    assert (await wired.service.get("/oauth/callback?code=abc")).status_code == 410
    assert wired.vault.list_accounts() == []


async def test_denial_and_personal_account_pages(wired):
    """Denying shows the denied page; a personal account gets the how-to-switch page; neither stores."""
    denied = await wired.service.get(await start(wired, new_link(wired), decision="deny"))
    assert denied.status_code == 403
    personal = await wired.service.get(await start(wired, new_link(wired), account="demo_personal"))
    assert personal.status_code == 400 and "personal" in personal.text.lower()
    assert wired.vault.list_accounts() == []


async def test_link_is_single_use_and_unknown_links_404(wired):
    """A used link shows the stale page; an unknown code is a 404."""
    code = new_link(wired)
    assert (await wired.service.get(await start(wired, code))).status_code == 200
    assert (await wired.service.get(f"/connect/{code}")).status_code == 410
    assert (await wired.service.get(f"/connect/{code}/authorize")).status_code == 410
    assert (await wired.service.get("/connect/" + "x" * 32)).status_code == 404


async def test_reauthorization_link_updates_the_same_account(wired):
    """A needs-reauth account logs in again through its link and is active again, same id."""
    account_id = await connect(wired)
    wired.vault.mark_needs_reauth(account_id, "code 190", now=wired.now())
    refused = await wired.service.get(f"/v1/accounts/{account_id}/token", headers=bearer(wired))
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["type"] == "needs_reauthorization" and "/connect/" in error["reauthorize_url"]
    code = error["reauthorize_url"].rsplit("/", 1)[1]
    assert (await wired.service.get(await start(wired, code))).status_code == 200
    [account] = wired.vault.list_accounts()
    assert account.id == account_id and account.status == "active"
    ok = await wired.service.get(f"/v1/accounts/{account_id}/token", headers=bearer(wired))
    assert ok.status_code == 200


async def test_reauthorization_link_refuses_another_person(wired):
    """A re-authorization link completed by a different Instagram account stores nothing."""
    account_id = await connect(wired)
    code = new_link(wired, account_id=account_id)
    wrong = await wired.service.get(await start(wired, code, account="demo_creator"))
    assert wrong.status_code == 400 and "demo_creator" in wrong.text
    assert [a.username for a in wired.vault.list_accounts()] == ["demo_business"]


async def test_api_keys_scope_and_errors(wired):
    """No key 401, revoked 401, key for another account 403, unknown account 404; list is filtered."""
    account_id = await connect(wired)
    assert (await wired.service.get("/v1/accounts")).status_code == 401
    _, other = wired.vault.api_keys.create("other", now=wired.now(), account_ids=["someone-else"])
    forbidden = await wired.service.get(
        f"/v1/accounts/{account_id}/token", headers=bearer(wired, other.reveal())
    )
    assert forbidden.status_code == 403 and forbidden.json()["error"]["type"] == "forbidden"
    listed = await wired.service.get("/v1/accounts", headers=bearer(wired, other.reveal()))
    assert listed.json() == {"accounts": []}
    record, revoked = wired.vault.api_keys.create("gone", now=wired.now())
    wired.vault.api_keys.revoke(record.id, now=wired.now())
    assert (
        await wired.service.get("/v1/accounts", headers=bearer(wired, revoked.reveal()))
    ).status_code == 401
    missing = await wired.service.get("/v1/accounts/nope/token", headers=bearer(wired))
    assert missing.status_code == 404
    assert wired.vault.events(types=["token_read"]) == []


async def test_token_route_refuses_a_key_the_moment_it_is_revoked(wired):
    """The token route serves a key's first read, 401s the next request after revocation, records one read."""
    account_id = await connect(wired)
    record, key = wired.vault.api_keys.create("short-lived", now=wired.now(), account_ids=[account_id])
    url = f"/v1/accounts/{account_id}/token"
    assert (await wired.service.get(url, headers=bearer(wired, key.reveal()))).status_code == 200
    wired.vault.api_keys.revoke(record.id, now=wired.now())
    refused = await wired.service.get(url, headers=bearer(wired, key.reveal()))
    assert refused.status_code == 401 and refused.json()["error"]["type"] == "authentication_required"
    assert (await wired.service.get(url)).status_code == 401
    reads = wired.vault.events(types=["token_read"], account_id=account_id)
    assert [r.data["reader"] for r in reads] == [record.prefix]


async def test_refresh_endpoint(wired):
    """Refreshing a fresh token is refused (409); after 25 hours it yields a new token."""
    account_id = await connect(wired)
    first = (await wired.service.get(f"/v1/accounts/{account_id}/token", headers=bearer(wired))).json()
    too_new = await wired.service.post(f"/v1/accounts/{account_id}/refresh", headers=bearer(wired))
    assert too_new.status_code == 409
    wired.world.clock.advance(25 * 3600)
    refreshed = await wired.service.post(f"/v1/accounts/{account_id}/refresh", headers=bearer(wired))
    assert refreshed.status_code == 200 and "access_token" not in refreshed.json()
    second = (await wired.service.get(f"/v1/accounts/{account_id}/token", headers=bearer(wired))).json()
    assert second["access_token"] != first["access_token"]


def payload_for(w: Wired, account_id: str, **extra) -> dict:
    account = w.vault.get_account(account_id)
    return {
        "algorithm": "HMAC-SHA256",
        "issued_at": int(w.now().timestamp()),
        "user_id": account.app_scoped_id,
        **extra,
    }


async def post_signed(w: Wired, path: str, signed: str) -> httpx.Response:
    return await w.service.post(path, data={"signed_request": signed})


@pytest.mark.parametrize("path", ["/meta/deauthorize", "/meta/data-deletion"])
async def test_bad_signed_requests_change_nothing(wired, path):
    """Forged, tampered, stale, future and wrong-algorithm signed_requests are refused; nothing changes."""
    account_id = await connect(wired)
    secret = demo.DEMO_IG_APP_SECRET
    good = payload_for(wired, account_id)
    signature, _encoded = sign(good, secret).split(".")
    tampered_payload = (
        base64.urlsafe_b64encode(json.dumps({**good, "user_id": "somebody"}).encode()).rstrip(b"=").decode()
    )
    now = int(wired.now().timestamp())
    bad = {
        "forged": sign(good, "not-the-secret"),
        "tampered": f"{signature}.{tampered_payload}",
        "stale": sign({**good, "issued_at": now - 2 * 3600}, secret),
        "future": sign({**good, "issued_at": now + 3600}, secret),
        "algorithm": sign({**good, "algorithm": "none"}, secret),
        "malformed": "not-a-signed-request",
    }
    before = event_count(wired)
    for name, signed in bad.items():
        answer = await post_signed(wired, path, signed)
        assert answer.status_code == 400, (name, answer.text)
    assert event_count(wired) == before
    assert wired.vault.get_account(account_id).status == "active"
    assert wired.vault.deletions.list_all() == []


async def test_deauthorize_destroys_tokens_and_replay_is_refused(wired):
    """A valid deauthorize marks the account and destroys its tokens; the same request again is 409."""
    account_id = await connect(wired)
    signed = sign(payload_for(wired, account_id), demo.DEMO_IG_APP_SECRET)
    answer = await post_signed(wired, "/meta/deauthorize", signed)
    assert answer.status_code == 200 and answer.json()["account"] == account_id
    assert wired.vault.get_account(account_id).status == "deauthorized"
    assert wired.vault.token_history(account_id) == []
    before = event_count(wired)
    assert (await post_signed(wired, "/meta/deauthorize", signed)).status_code == 409
    assert event_count(wired) == before
    token = await wired.service.get(f"/v1/accounts/{account_id}/token", headers=bearer(wired))
    assert token.status_code == 409 and token.json()["error"]["type"] == "needs_reauthorization"


async def test_data_deletion_answers_code_and_status_page(wired):
    """Data deletion deletes personal data and tokens and answers {url, confirmation_code}."""
    account_id = await connect(wired)
    signed = sign(payload_for(wired, account_id), demo.DEMO_IG_APP_SECRET)
    answer = await post_signed(wired, "/meta/data-deletion", signed)
    assert answer.status_code == 200
    body = answer.json()
    assert body["confirmation_code"].isalnum()
    assert body["url"] == f"{PUBLIC}/meta/deletion-status/{body['confirmation_code']}"
    account = wired.vault.get_account(account_id)
    assert account.status == "deleted" and account.username is None and account.ig_user_id is None
    assert wired.vault.token_history(account_id) == []
    status = await wired.service.get(urlsplit(body["url"]).path, headers={"accept": "application/json"})
    assert status.json()["status"] == "completed"
    page = await wired.service.get(urlsplit(body["url"]).path)
    assert "has been deleted" in page.text
    assert (await post_signed(wired, "/meta/data-deletion", signed)).status_code == 409
    assert len(wired.vault.deletions.list_all()) == 1
    gone = await wired.service.get(f"/v1/accounts/{account_id}/token", headers=bearer(wired))
    assert gone.status_code == 404


async def test_dashboard_lists_the_connected_account(wired):
    """The vault-backed dashboard shows accounts, links and deletion requests to a signed-in admin."""
    await connect(wired)
    signin = await wired.service.get("/signin")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', signin.text).group(1)
    state = wired.service._transport.app.state.igtoken  # type: ignore[attr-defined]
    done = await wired.service.post(
        "/signin", data={"csrf_token": csrf, "password": state.admin_password.reveal()}
    )
    assert done.status_code == 303
    page = await wired.service.get("/dashboard")
    assert page.status_code == 200 and "demo_business" in page.text
    links = await wired.service.get("/dashboard/links")
    assert "for tests" in links.text and "used" in links.text
    assert (await wired.service.get("/dashboard/deletions")).status_code == 200


async def test_concurrent_token_reads_are_each_audited(wired):
    """Reads handed to the vault together (one hand-over, one thread) are each answered and recorded."""
    import asyncio

    account_id = await connect(wired)
    url = f"/v1/accounts/{account_id}/token"
    answers = await asyncio.gather(*(wired.service.get(url, headers=bearer(wired)) for _ in range(40)))
    assert [a.status_code for a in answers] == [200] * 40
    assert len({a.json()["access_token"] for a in answers}) == 1
    reads = wired.vault.events(types=["token_read"], account_id=account_id, limit=1000)
    assert len(reads) == 40


async def test_every_v1_route_is_charged_to_the_api_rate_limit():
    """The token route charges the limit itself, the others as a dependency: each one is limited."""
    from fastapi.routing import APIRoute

    from igtoken.service.routes import api

    every = [*api.router.routes, *api.token_router.routes]
    routes = [route for route in every if isinstance(route, APIRoute)]
    charged = {
        route.path for route in routes if any(d.dependency is api._charge_api for d in route.dependencies)
    }
    paths = {route.path for route in routes}
    assert paths - charged == {"/v1/accounts/{account_id}/token"}
    assert [getattr(route, "path", None) for route in api.token_router.routes] == [
        "/v1/accounts/{account_id}/token"
    ]


async def test_token_route_is_matched_first_and_overlaps_no_other(wired):
    """The token route is the app's first route; no other route matches a /v1 path it could serve."""
    from starlette.routing import Match

    app = wired.service._transport.app  # type: ignore[attr-defined]
    first, *others = app.router.routes
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        for path in ("/v1/accounts/a-b_c.1:2/token", "/v1/accounts/x/token/"):
            scope: dict[str, object] = {"type": "http", "method": method, "path": path, "headers": []}
            assert all(route.matches(dict(scope))[0] is Match.NONE for route in others), (method, path)
    token = {"type": "http", "method": "GET", "path": "/v1/accounts/x/token", "headers": []}
    assert first.matches(token)[0] is Match.FULL


async def test_token_route_is_rate_limited(wired):
    """Past the API burst the token route answers 429 before the key is even looked at."""
    from igtoken.service.config import RateLimit, RateLimits
    from igtoken.service.ratelimit import TokenBucketLimiter

    account_id = await connect(wired)
    app = wired.service._transport.app  # type: ignore[attr-defined]
    loose = RateLimit(per_minute=1000, burst=1000)
    tight = RateLimits(signin=loose, webhooks=loose, public=loose, api=RateLimit(per_minute=1, burst=2))
    app.state.igtoken.limiter = TokenBucketLimiter(tight)
    url = f"/v1/accounts/{account_id}/token"
    answers = [(await wired.service.get(url, headers=bearer(wired))).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    limited = await wired.service.get(url)  # no key at all: still 429, the limit comes first
    assert limited.status_code == 429 and limited.json()["error"]["type"] == "rate_limited"
    assert (await wired.service.get("/v1/accounts", headers=bearer(wired))).status_code == 429
    assert len(wired.vault.events(types=["token_read"], account_id=account_id)) == 2
