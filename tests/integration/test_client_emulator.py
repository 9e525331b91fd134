"""The Instagram Login client against the emulator: the whole lifecycle, sync over loopback, async in-process.

Unit counterparts: ``tests/unit/client``. These tests use no fakes of igtoken's own code: the
emulator is an independent implementation of Meta's rules, reached over real HTTP or ASGI.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
import pytest

from igtoken import (
    AccountType,
    AppCredentials,
    AsyncClient,
    AuthorizationDenied,
    Client,
    ClientConfig,
    Endpoints,
    InvalidGrantError,
    NeedsReauthorizationError,
    Secret,
    TokenKind,
    TokenTooNewError,
    new_state,
)
from igtoken.emulator import EmulatorClock, create_app
from igtoken.emulator.demo import (
    DEMO_BUSINESS,
    DEMO_BUSINESS_IG_ID,
    DEMO_IG_APP_ID,
    DEMO_IG_APP_SECRET,
    DEMO_PERSONAL,
)
from igtoken.testing import TEST_CLOCK_START, emulator_async_client, run_emulator_on_loopback

REDIRECT = "http://127.0.0.1:8765/callback"
SCOPES = ["instagram_business_basic", "instagram_business_content_publish"]


def _config(base_url: str, secret: str = DEMO_IG_APP_SECRET) -> ClientConfig:
    return ClientConfig(
        AppCredentials(DEMO_IG_APP_ID, Secret(secret), REDIRECT), endpoints=Endpoints.emulator(base_url)
    )


def _consent(http: httpx.Client, authorize_url: str, account: str, decision: str = "approve") -> str:
    """Play the browser: the emulator's non-browser consent shortcut answers with the redirect."""
    response = http.get(f"{authorize_url}&emulator_account={account}&emulator_decision={decision}")
    assert response.status_code in (302, 303), response.text
    return response.headers["location"]


@pytest.fixture
def clock() -> EmulatorClock:
    """A frozen clock shared by the emulator and the client's ``now``."""
    return EmulatorClock(TEST_CLOCK_START, frozen=True)


def test_sync_login_refresh_and_profile_over_loopback(clock: EmulatorClock) -> None:
    """Authorize → callback (with #_) → long-lived token → /me → refresh after 25 h, over real sockets."""
    with (
        run_emulator_on_loopback(clock=clock) as base,
        Client(_config(base)) as client,
        httpx.Client() as http,
    ):
        state = new_state()
        callback = _consent(http, client.authorization_url(state=state, scopes=SCOPES), DEMO_BUSINESS)
        assert callback.startswith(REDIRECT)
        result = client.login(callback, expected_state=state, requested_scopes=SCOPES, now=clock.now())

        assert result.profile.username == DEMO_BUSINESS
        assert result.profile.user_id == DEMO_BUSINESS_IG_ID
        assert result.profile.account_type is AccountType.BUSINESS
        assert result.token.kind is TokenKind.IG_LONG
        assert result.token.expires_at is not None
        assert result.token.expires_at - clock.now() > timedelta(days=59)
        assert result.missing_scopes == ()

        with pytest.raises(TokenTooNewError):
            client.refresh(result.token, now=clock.now())

        clock.advance(25 * 3600)
        refreshed = client.refresh(result.token, now=clock.now())
        assert refreshed.issued_at == clock.now()
        assert refreshed.expires_at is not None and refreshed.expires_at > result.token.expires_at
        assert client.profile(refreshed).username == DEMO_BUSINESS


def test_sync_code_is_single_use(clock: EmulatorClock) -> None:
    """A callback replayed (the code used twice) is refused as an invalid grant."""
    with (
        run_emulator_on_loopback(clock=clock) as base,
        Client(_config(base)) as client,
        httpx.Client() as http,
    ):
        callback = _consent(http, client.authorization_url(state="s" * 32, scopes=SCOPES), DEMO_BUSINESS)
        client.exchange_code(callback, now=clock.now())
        with pytest.raises(InvalidGrantError):
            client.exchange_code(callback, now=clock.now())


def test_wrong_secret_fails_with_a_fix_that_names_the_secret(clock: EmulatorClock) -> None:
    """A wrong app secret surfaces Meta's misleading redirect_uri message, with a fix naming both causes."""
    with (
        run_emulator_on_loopback(clock=clock) as base,
        Client(_config(base, secret="not-the-secret")) as client,
        httpx.Client() as http,
    ):
        callback = _consent(http, client.authorization_url(state="s" * 32, scopes=SCOPES), DEMO_BUSINESS)
        with pytest.raises(InvalidGrantError) as caught:
            client.exchange_code(callback, now=clock.now())
        assert "secret" in caught.value.fix
        assert "not-the-secret" not in str(caught.value)


async def test_async_login_refuses_personal_account(clock: EmulatorClock) -> None:
    """A personal account cannot complete Instagram Login: the callback is a denial, not a code."""
    app = create_app(clock=clock)
    async with (
        emulator_async_client(app) as http,
        AsyncClient(_config("http://emulator.test"), http=http) as client,
    ):
        url = client.authorization_url(state="s" * 32, scopes=SCOPES)
        response = await http.get(f"{url}&emulator_account={DEMO_PERSONAL}&emulator_decision=approve")
        # Meta refuses a personal account at consent: the callback carries the error, never a code.
        with pytest.raises(AuthorizationDenied) as caught:
            await client.login(response.headers["location"], now=clock.now())
        assert caught.value.error == "access_denied"


async def test_async_full_lifecycle_and_expiry(clock: EmulatorClock) -> None:
    """In-process async: login, refresh at 24 h, and a token left to lapse answers 190 → needs re-auth."""
    app = create_app(clock=clock)
    async with (
        emulator_async_client(app) as http,
        AsyncClient(_config("http://emulator.test"), http=http) as client,
    ):
        url = client.authorization_url(state="s" * 32, scopes=SCOPES)
        response = await http.get(f"{url}&emulator_account={DEMO_BUSINESS}&emulator_decision=approve")
        result = await client.login(response.headers["location"], now=clock.now())
        clock.advance(24 * 3600)
        token = await client.refresh(result.token, now=clock.now())
        assert (await client.profile(token)).username == DEMO_BUSINESS

        clock.advance(61 * 24 * 3600)
        with pytest.raises(NeedsReauthorizationError) as caught:
            await client.profile(token)
        assert caught.value.code == 190
        assert caught.value.error_subcode == 463


def test_no_token_or_secret_in_logs(clock: EmulatorClock, caplog: pytest.LogCaptureFixture) -> None:
    """A full login and refresh logs one line per request and never a token, code or the app secret."""
    caplog.set_level(logging.DEBUG)
    with (
        run_emulator_on_loopback(clock=clock) as base,
        Client(_config(base)) as client,
        httpx.Client() as http,
    ):
        callback = _consent(http, client.authorization_url(state="s" * 32, scopes=SCOPES), DEMO_BUSINESS)
        result = client.login(callback, now=clock.now())
        clock.advance(25 * 3600)
        refreshed = client.refresh(result.token, now=clock.now())
    text = caplog.text
    assert "igtoken.http" in {r.name for r in caplog.records}
    for secret in (result.token.value.reveal(), refreshed.value.reveal(), DEMO_IG_APP_SECRET):
        assert secret not in text
