"""Client and AsyncClient end to end against a scripted Meta, over MockTransport and real loopback HTTP."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from igtoken import (
    AccessToken,
    AsyncClient,
    Client,
    ConfigurationError,
    Endpoints,
    InvalidGrantError,
    PersonalAccountError,
    Secret,
    TokenKind,
    TokenTooNewError,
    Usage,
    new_state,
)

from .ig_fake_meta import FakeMeta, serve
from .ig_meta_fakes import (
    APP_SCOPED_ID,
    CODE,
    IG_USER_ID,
    LONG_TOKEN,
    NOW,
    REDIRECT_URI,
    REFRESHED_TOKEN,
    make_config,
)

SCOPES = ("instagram_business_basic", "instagram_business_manage_comments")


def test_full_login_refresh_and_media_over_real_loopback_http() -> None:
    """authorization_url → callback → login → refresh → media, with the emulator's path-prefix endpoints."""
    fake = FakeMeta()
    with serve(fake) as base:
        config = make_config(endpoints=Endpoints.emulator(base))
        with Client(config) as client:
            state = new_state()
            url = client.authorization_url(state=state, scopes=SCOPES)
            assert url.startswith(f"{base}/www.instagram.com/oauth/authorize?")
            assert [state] == parse_qs(urlsplit(url).query)["state"]
            callback = f"{REDIRECT_URI}?code={CODE}&state={state}#_"
            assert client.parse_callback(callback, expected_state=state).code.reveal() == CODE
            result = client.login(callback, expected_state=state, requested_scopes=SCOPES, now=NOW)
            assert (result.profile.user_id, result.profile.app_scoped_id) == (IG_USER_ID, APP_SCOPED_ID)
            assert result.missing_scopes == ("instagram_business_manage_comments",)
            assert result.token.value.reveal() == LONG_TOKEN
            assert Usage(app_call_count=12, app_total_time=3, app_total_cputime=2) == client.last_usage
            later = NOW + timedelta(days=2)
            refreshed = client.refresh(result.token, now=later)
            assert refreshed.value.reveal() == REFRESHED_TOKEN
            assert later + timedelta(seconds=5183944) == refreshed.expires_at
            media = client.media(refreshed)
            assert [m.id for m in media] == ["1", "2", "3"]
    paths = [r.url.path for r in fake.seen]
    assert paths == [
        "/api.instagram.com/oauth/access_token",
        "/graph.instagram.com/access_token",
        "/graph.instagram.com/me",
        "/graph.instagram.com/refresh_access_token",
        "/graph.instagram.com/me/media",
        "/graph.instagram.com/v25.0/17841400000000001/media",
    ]
    assert "access_token" not in fake.seen[-1].url.params


def test_facade_uses_the_real_clock_when_now_is_omitted(config) -> None:
    """Without now, the facade stamps tokens with the current UTC time (and refresh rules use it)."""
    fake = FakeMeta()
    with Client(config, transport=httpx.MockTransport(fake)) as client:
        result = client.login(CODE)
        assert result.token.issued_at.tzinfo is not None
        assert timedelta(0) <= result.token.age(result.token.issued_at + timedelta(seconds=1))
        with pytest.raises(TokenTooNewError):
            client.refresh(result.token)
        short = client.exchange_code(CODE, requested_scopes=SCOPES)
        assert TokenKind.IG_SHORT is short.token.kind
        assert TokenKind.IG_LONG is client.exchange_long_lived(short.token).kind
        assert client.profile(Secret(LONG_TOKEN)).username == "acme"


def test_personal_accounts_and_oauth_errors_surface(config) -> None:
    """A personal account is refused; a wrong code gives InvalidGrantError from the OAuth host."""
    with Client(config, transport=httpx.MockTransport(FakeMeta(account_type="PERSONAL"))) as client:
        with pytest.raises(PersonalAccountError):
            client.login(CODE, now=NOW)
        with pytest.raises(InvalidGrantError, match="Invalid authorization code"):
            client.login("AQBwrong", now=NOW)


def test_client_construction_rules(config) -> None:
    """http and transport are exclusive; a caller's httpx client is not closed; repr shows only the app id."""
    with pytest.raises(ConfigurationError):
        Client(config, http=httpx.Client(), transport=httpx.MockTransport(FakeMeta()))
    own = httpx.Client(transport=httpx.MockTransport(FakeMeta()))
    with Client(config, http=own) as client:
        assert "990602627938098" in repr(client)
    assert not own.is_closed
    own.close()
    with pytest.raises(ConfigurationError):
        Client("config")  # type: ignore[arg-type]


async def test_async_client_over_asgi_style_transport(config) -> None:
    """AsyncClient runs the same login, refresh and media flows."""
    fake = FakeMeta()
    async with AsyncClient(config, transport=httpx.MockTransport(fake)) as client:
        assert client.authorization_url(state="s").startswith("https://www.instagram.com/oauth/authorize?")
        assert client.parse_callback(f"?code={CODE}").code.reveal() == CODE
        result = await client.login(f"{REDIRECT_URI}?code={CODE}", now=NOW)
        refreshed = await client.refresh(result.token, now=NOW + timedelta(days=1))
        assert refreshed.value.reveal() == REFRESHED_TOKEN
        assert [m.id for m in await client.media(refreshed, limit=2)] == ["1", "2"]
        assert (await client.profile(refreshed)).username == "acme"
        short = await client.exchange_code(CODE, now=NOW)
        long = await client.exchange_long_lived(short.token, now=NOW)
        assert isinstance(long, AccessToken) and client.last_usage is not None
    own = httpx.AsyncClient(transport=httpx.MockTransport(fake))
    async with AsyncClient(config, http=own):
        pass
    assert not own.is_closed
    await own.aclose()
    with pytest.raises(ConfigurationError):
        AsyncClient(config, http=own, transport=httpx.MockTransport(fake))
