"""Client and AsyncClient drive the Facebook flows over httpx: a scripted Graph behind MockTransport."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import httpx
import pytest

from igtoken import AsyncClient, Client, IGTokenError, NeedsReauthorizationError, Secret, TransientError

from .fb_fakes import (
    ALL_SECRETS,
    FB_CODE,
    IG_USERNAME,
    LONG_USER_TOKEN,
    META_APP_ID,
    META_APP_SECRET,
    NOW,
    PAGE_LINKED,
    REDIRECT_URI,
    SHORT_USER_TOKEN,
    USER_ID,
    accounts_body,
    debug_body,
    graph_error,
    make_config,
    meta,
    page_body,
    proof,
    token_body,
)

CALLBACK = f"{REDIRECT_URI}?code={FB_CODE}&state=s#_=_"
APP_TOKEN = f"{META_APP_ID}|{META_APP_SECRET}"


@dataclass
class FakeGraph:
    """graph.facebook.com as a MockTransport handler: checks credentials and proofs, scripts failures."""

    seen: list[httpx.Request] = field(default_factory=list)
    script: dict[str, list[httpx.Response]] = field(default_factory=dict)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        assert request.url.host == "graph.facebook.com"
        path = request.url.path.removeprefix("/v25.0")
        if self.script.get(path):
            return self.script[path].pop(0)
        q = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        if path == "/oauth/access_token":
            if q.get("client_id") != META_APP_ID:
                return graph_error(101, "Error validating application. Invalid application ID.")
            if q.get("client_secret") != META_APP_SECRET:
                return graph_error(1, "Error validating client secret.")
            if q.get("grant_type") == "fb_exchange_token":
                return meta(200, token_body(LONG_USER_TOKEN))
            if q.get("grant_type") == "client_credentials":
                return meta(200, {"access_token": f"{META_APP_ID}|fromMeta", "token_type": "bearer"})
            if q.get("code") != FB_CODE or q.get("redirect_uri") != REDIRECT_URI:
                return graph_error(100, "Invalid verification code format.")
            return meta(200, token_body(SHORT_USER_TOKEN, 5183))
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if q.get("appsecret_proof") != proof(token):
            return graph_error(100, "Invalid appsecret_proof provided in the API argument")
        if path == "/debug_token":
            return meta(200, debug_body())
        if token != LONG_USER_TOKEN:
            return graph_error(190, "Error validating access token: Session has expired", subcode=463)
        if path == "/me":
            return meta(200, {"id": USER_ID, "name": "Jo Doe"})
        if path == "/me/permissions":
            return meta(200, {"data": [{"permission": "instagram_basic", "status": "granted"}]})
        if path == "/me/accounts":
            if q.get("after"):
                return meta(200, accounts_body(linked=False))
            nxt = f"https://graph.facebook.com/v25.0/me/accounts?access_token={token}&after=QVFJ"
            return meta(200, accounts_body(unlinked=False, next_url=nxt))
        if path == f"/{PAGE_LINKED}":
            return meta(200, page_body())
        return graph_error(100, "Unsupported get request.", subcode=33)


def test_sync_client_every_method() -> None:
    """Every Facebook method of Client works end to end; every token-bearing call carries a valid proof."""
    graph = FakeGraph()
    with Client(make_config(), transport=httpx.MockTransport(graph)) as client:
        result = client.facebook_login(CALLBACK, expected_state="s", now=NOW)
        assert [p.page_id for p in result.pages] == [PAGE_LINKED, "134895793791915"]
        assert result.linked_pages[0].instagram_account.username == IG_USERNAME
        short = client.exchange_facebook_code(FB_CODE, now=NOW)
        long = client.exchange_facebook_long_lived(short, now=NOW)
        assert long.value.reveal() == LONG_USER_TOKEN
        assert client.facebook_app_token().reveal() == f"{META_APP_ID}|fromMeta"
        assert client.facebook_me(long).user_id == USER_ID
        assert client.facebook_permissions(long).granted == ("instagram_basic",)
        assert len(client.pages(long, now=NOW)) == 2
        assert client.page_instagram_account(long, PAGE_LINKED, now=NOW).is_linked
        assert client.debug_token(long).is_valid
    for request in graph.seen:
        if "authorization" in request.headers:
            assert "access_token" not in request.url.params
            assert request.url.params["appsecret_proof"] == proof(request.headers["authorization"][7:])
        else:
            assert request.url.path == "/v25.0/oauth/access_token"


async def test_async_client_login_and_transient_retry() -> None:
    """AsyncClient completes the login; a transient 2 on /me/accounts is retried, a 190 is not."""
    graph = FakeGraph()
    graph.script["/me/accounts"] = [graph_error(2, "Service temporarily unavailable", status=500)]
    async with AsyncClient(make_config(), transport=httpx.MockTransport(graph)) as client:
        result = await client.facebook_login(CALLBACK, now=NOW)
        assert len(result.pages) == 2
        assert sum(r.url.path.endswith("/me/accounts") for r in graph.seen) == 3  # retry + next page
        with pytest.raises(NeedsReauthorizationError):
            await client.facebook_me(Secret(SHORT_USER_TOKEN))
        graph.script["/me"] = [graph_error(2, "Service temporarily unavailable", status=500)] * 5
        with pytest.raises(TransientError):
            await client.facebook_me(result.user_token)
        assert (await client.debug_token(result.user_token, app_token=Secret(APP_TOKEN))).is_valid
        assert (await client.facebook_permissions(result.user_token)).granted == ("instagram_basic",)
        assert (await client.page_instagram_account(result.user_token, PAGE_LINKED, now=NOW)).is_linked
        assert (await client.exchange_facebook_code(FB_CODE, now=NOW)).value.reveal() == SHORT_USER_TOKEN
        assert (await client.facebook_app_token()).reveal().startswith(META_APP_ID)
        long = await client.exchange_facebook_long_lived(Secret(SHORT_USER_TOKEN), now=NOW)
        assert len(await client.pages(long, now=NOW)) == 2


def test_no_secret_in_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    """A login and failing calls log one line per request and raise errors, none holding a secret."""
    caplog.set_level(logging.DEBUG)
    graph = FakeGraph()
    errors: list[BaseException] = []
    with Client(make_config(), transport=httpx.MockTransport(graph)) as client:
        result = client.facebook_login(CALLBACK, now=NOW)
        graph.script["/debug_token"] = [graph_error(190, f"Malformed access token {LONG_USER_TOKEN}")]
        for call in (
            lambda: client.facebook_me(Secret(SHORT_USER_TOKEN)),
            lambda: client.exchange_facebook_code("AQwrongCODE0123456789", now=NOW),
            lambda: client.debug_token(result.user_token),
        ):
            with pytest.raises(IGTokenError) as info:
                call()
            errors.append(info.value)
    with Client(make_config(), transport=httpx.MockTransport(graph)) as client:
        graph.script["/oauth/access_token"] = [
            graph_error(1, f"Error validating client secret {META_APP_SECRET}")
        ]
        with pytest.raises(IGTokenError) as info:
            client.exchange_facebook_code(FB_CODE, now=NOW)
        errors.append(info.value)
    records = [r for r in caplog.records if r.name == "igtoken.http"]
    assert len(records) == len(graph.seen)  # one line per request
    text = caplog.text + " ".join(f"{e} {e!r} {e.args} {e.__cause__}" for e in errors)
    for secret in (*ALL_SECRETS, proof(LONG_USER_TOKEN), proof(APP_TOKEN)):
        assert secret not in text
