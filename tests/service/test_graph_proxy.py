"""The Graph proxy (``/v1/accounts/{id}/graph/{path}``) against the in-process emulator.

Facebook Login calls carry ``appsecret_proof`` (apps with "Require App Secret" on work);
caller-supplied credentials in the query are dropped.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl

import pytest

from igtoken.app.runtime import SANDBOX_FB_APP
from igtoken.core.models import TokenKind
from igtoken.core.secret import Secret
from igtoken.emulator import demo

from .conftest import PUBLIC, Wired, bearer
from .test_wired_facebook import connect_fb
from .test_wired_service import connect


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


# -- issue 13: throttling, paths, body limit, paging ---------------------------------------------


async def test_every_call_while_throttled_is_429_with_retry_after(wired):
    """Meta throttles once: that call and the two after it (answered locally) are all 429 + Retry-After;
    only the first reached Meta."""
    account_id = await connect(wired)
    wired.world.faults.add("ig_me", "throttle", wait_minutes=3, times=1)
    wired.world.log.clear()
    for n in range(3):
        answer = await wired.service.get(f"/v1/accounts/{account_id}/graph/me", headers=bearer(wired))
        assert answer.status_code == 429, (n, answer.status_code, answer.text)
        assert 1 <= int(answer.headers["retry-after"]) <= 180, answer.headers
    assert len(wired.world.log.entries(host="graph.instagram.com")) == 1
    body = answer.json()
    assert body["error"]["type"] == "throttled"


@pytest.mark.parametrize(
    "path",
    [
        "me%00",
        "me%09",
        "me%0C",
        "me%0A",
        "me%0D%0AX-Injected:%201",
        "me%20media",
        "me/%2e%2e/other",
        "me/%2e/media",
        "me//media",
        "me%2F..%2F..%2Fx",
        "%C3%A9",
        "me%5Cmedia",
        "me@evil.example",
        "me?x",
    ],
)
async def test_paths_that_are_not_graph_paths_are_400(wired, path):
    account_id = await connect(wired)
    wired.world.log.clear()
    answer = await wired.service.get(f"/v1/accounts/{account_id}/graph/{path}", headers=bearer(wired))
    if path == "me?x":  # the query is not part of the path: a plain Graph call
        assert answer.status_code == 200
        return
    assert answer.status_code == 400, (path, answer.status_code, answer.text)
    assert answer.json()["error"]["type"] == "invalid_request"
    assert wired.world.log.entries(host="graph.instagram.com") == []


MIB = 1024 * 1024


class CountingBody:
    """A streamed request body (no Content-Length) that counts how much the service pulled."""

    def __init__(self, total: int, chunk: int = 64 * 1024) -> None:
        self.total = total
        self.chunk = chunk
        self.sent = 0

    async def __aiter__(self):
        while self.sent < self.total:
            size = min(self.chunk, self.total - self.sent)
            self.sent += size
            yield b"x" * size


async def test_body_over_the_limit_is_413_without_reading_it_whole(wired):
    """20 MB with Content-Length: refused before reading; 20 MB streamed: refused once past 8 MiB."""
    account_id = await connect(wired)
    url = f"/v1/accounts/{account_id}/graph/me/media"
    wired.world.log.clear()
    declared = await wired.service.post(
        url, headers={**bearer(wired), "content-length": str(20_000_000)}, content=b"x" * 20_000_000
    )
    assert declared.status_code == 413, declared.text
    assert declared.json()["error"]["type"] == "payload_too_large"
    streamed = CountingBody(20_000_000)
    answer = await wired.service.post(url, headers=bearer(wired), content=streamed)
    assert answer.status_code == 413, answer.text
    assert streamed.sent <= 8 * MIB + 2 * streamed.chunk
    assert wired.world.log.entries(host="graph.instagram.com") == []
    small = await wired.service.post(url, headers=bearer(wired), content=b"caption=hi")
    assert small.status_code != 413 and small.status_code < 500
    assert len(wired.world.log.entries(host="graph.instagram.com")) == 1


async def test_body_limit_follows_the_setting(wired):
    """IGTOKEN_PROXY_MAX_BODY (here 4 KiB): 5 KiB is refused, 3 KiB is forwarded."""
    from dataclasses import replace

    from igtoken.config.settings import load_settings

    account_id = await connect(wired)
    settings = load_settings({"IGTOKEN_PROXY_MAX_BODY": "4KiB"})
    assert settings.proxy_max_body == 4096
    wired.runtime.settings = replace(wired.runtime.settings, proxy_max_body=settings.proxy_max_body)
    url = f"/v1/accounts/{account_id}/graph/me/media"
    assert (await wired.service.post(url, headers=bearer(wired), content=b"x" * 5000)).status_code == 413
    streamed = CountingBody(5000, chunk=1000)
    assert (await wired.service.post(url, headers=bearer(wired), content=streamed)).status_code == 413
    assert (await wired.service.post(url, headers=bearer(wired), content=b"x" * 3000)).status_code != 413


async def test_paging_links_stay_on_the_proxy_and_carry_no_token(wired):
    """``paging.next``/``previous`` point at the proxy, without token or proof; following them works."""
    account_id = await connect(wired)
    token = wired.vault.current_token(account_id, TokenKind.IG_LONG).token.value.reveal()
    base = f"{PUBLIC}/v1/accounts/{account_id}/graph/"
    first = await wired.service.get(
        f"/v1/accounts/{account_id}/graph/me/media",
        params={"limit": "2", "fields": "id"},
        headers=bearer(wired),
    )
    assert first.status_code == 200, first.text
    assert token not in first.text
    next_url = first.json()["paging"]["next"]
    assert next_url.startswith(base + "me/media?"), next_url
    assert "access_token" not in next_url and "appsecret" not in next_url
    second = await wired.service.get(next_url, headers=bearer(wired))
    assert second.status_code == 200, second.text
    assert token not in second.text
    assert {m["id"] for m in second.json()["data"]}.isdisjoint({m["id"] for m in first.json()["data"]})
    previous = second.json()["paging"]["previous"]
    assert previous.startswith(base + "me/media?") and "access_token" not in previous
    back = await wired.service.get(previous, headers=bearer(wired))
    assert back.status_code == 200 and back.json()["data"] == first.json()["data"]


async def test_facebook_paging_links_carry_no_proof(wired):
    """On graph.facebook.com the links lose the token and the proof too; the proxy adds its own again."""
    account_id = await connect_fb(wired)
    await require_proof(wired)
    first = await wired.service.get(
        f"/v1/accounts/{account_id}/graph/{demo.DEMO_BUSINESS_IG_ID}/media",
        params={"limit": "1"},
        headers=bearer(wired),
    )
    assert first.status_code == 200, first.text
    next_url = first.json()["paging"]["next"]
    assert next_url.startswith(f"{PUBLIC}/v1/accounts/{account_id}/graph/{demo.DEMO_BUSINESS_IG_ID}/media?")
    assert "access_token" not in next_url and "appsecret" not in next_url
    second = await wired.service.get(next_url, headers=bearer(wired))
    assert second.status_code == 200, second.text


async def test_no_path_or_query_makes_the_proxy_answer_5xx(wired):
    """Arbitrary (percent-encoded) paths and query strings through the proxy: never a 5xx."""
    from urllib.parse import quote

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    account_id = await connect(wired)
    seen: list[tuple[str, str, str]] = []

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(path=st.text(min_size=1, max_size=40), key=st.text(max_size=10), value=st.text(max_size=20))
    def case(path: str, key: str, value: str) -> None:
        seen.append((path, key, value))

    case()
    for path, key, value in seen:
        answer = await wired.service.get(
            f"/v1/accounts/{account_id}/graph/{quote(path, safe='/')}",
            params={key: value} if key else None,
            headers=bearer(wired),
        )
        assert answer.status_code < 500, (path, key, value, answer.status_code, answer.text)


async def test_two_instances_share_one_throttle(wired):
    """Meta throttles a call through one instance: another instance over the same vault answers 429
    itself, without calling Meta; once the wait is over, calls go through again."""
    from datetime import timedelta

    from igtoken.core.endpoints import Endpoints
    from igtoken.service.assembly import build_app as build_wired_app

    from .conftest import client_for

    account_id = await connect(wired)
    other = build_wired_app(
        wired.runtime,
        public_url=PUBLIC,
        endpoints=Endpoints.emulator("http://emulator.test"),
        sandbox=True,
        worker=False,
        http=wired.meta,
        clock=wired.world.clock.now,
    )
    wired.world.faults.add("ig_me", "throttle", wait_minutes=2, times=1)
    wired.world.log.clear()
    first = await wired.service.get(f"/v1/accounts/{account_id}/graph/me", headers=bearer(wired))
    assert first.status_code == 429
    async with client_for(other, base_url=PUBLIC) as second:
        held = await second.get(f"/v1/accounts/{account_id}/graph/me", headers=bearer(wired))
        assert held.status_code == 429 and 60 <= int(held.headers["retry-after"]) <= 120
        assert len(wired.world.log.entries(host="graph.instagram.com")) == 1
        wired.world.clock.advance(timedelta(minutes=3).total_seconds())
        free = await second.get(f"/v1/accounts/{account_id}/graph/me", headers=bearer(wired))
        assert free.status_code == 200, free.text


def test_pacing_grows_as_usage_nears_100_percent():
    from igtoken.core.usage import BusinessUseCaseUsage, Usage
    from igtoken.service.routes.api import DEFAULT_THROTTLE_WAIT, pacing_wait

    assert pacing_wait(None) is None and pacing_wait(Usage()) is None
    assert pacing_wait(Usage(app_call_count=50)) is None
    assert pacing_wait(Usage(app_call_count=90)) is None
    assert pacing_wait(Usage(app_call_count=95)) == pytest.approx(5.0)
    assert pacing_wait(Usage(app_call_count=99)) == pytest.approx(9.0)
    assert pacing_wait(Usage(app_call_count=100)) == DEFAULT_THROTTLE_WAIT
    busy = BusinessUseCaseUsage(
        business_id="1", type="instagram", call_count=100, estimated_time_to_regain_access=3
    )
    assert pacing_wait(Usage(business=(busy,))) == 180


async def test_the_proxy_spaces_calls_out_near_metas_limit(wired):
    """As Meta's usage header passes 90 %, the account's next call is held (429, a short Retry-After,
    Meta not called) instead of running into Meta's own throttle."""
    from igtoken.core.usage import parse_usage

    account_id = await connect(wired)
    wired.world.update_app(demo.DEMO_IG_APP_ID, call_limit_per_hour=40)
    url = f"/v1/accounts/{account_id}/graph/me"
    percents: list[float] = []
    paced = None
    for _ in range(45):
        calls_before = len(wired.world.log.entries(host="graph.instagram.com"))
        answer = await wired.service.get(url, headers=bearer(wired))
        if answer.status_code == 429:
            assert len(wired.world.log.entries(host="graph.instagram.com")) == calls_before
            paced = int(answer.headers["retry-after"])
            break
        assert answer.status_code == 200, answer.text
        usage = parse_usage(answer.headers)
        assert usage is not None and usage.max_percent is not None
        percents.append(usage.max_percent)
    assert paced is not None and 1 <= paced <= 10, percents
    assert 90 < percents[-1] < 100 and all(p <= 90 for p in percents[:-1]), percents
