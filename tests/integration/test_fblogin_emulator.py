"""Facebook Login for Business against the emulator's demo world: the whole login, sync and async.

Unit counterparts: ``tests/unit/fblogin``. No fakes of igtoken's own code: the emulator is an
independent implementation of Meta's rules, reached over real HTTP on loopback or in-process ASGI.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import parse_qs

import httpx
import pytest

from igtoken import (
    AppCredentials,
    AsyncClient,
    Client,
    ClientConfig,
    Endpoints,
    InvalidGrantError,
    InvalidRequestError,
    NeedsReauthorizationError,
    Secret,
    TokenKind,
    new_state,
)
from igtoken.emulator import EmulatorClock, create_app
from igtoken.emulator.demo import (
    DEMO_BUSINESS,
    DEMO_BUSINESS_IG_ID,
    DEMO_FB_APP_ID,
    DEMO_FB_APP_SECRET,
    DEMO_FB_USER,
    DEMO_FB_USER_ID,
    DEMO_IG_APP_ID,
    DEMO_IG_APP_SECRET,
    DEMO_PAGE_LINKED_ID,
    DEMO_PAGE_UNLINKED_ID,
)
from igtoken.testing import TEST_CLOCK_START, emulator_async_client, run_emulator_on_loopback

REDIRECT = "http://127.0.0.1:8765/callback"
SCOPES = ["instagram_basic", "pages_show_list", "pages_read_engagement", "business_management"]


def _config(base_url: str, secret: str = DEMO_FB_APP_SECRET) -> ClientConfig:
    """The demo Instagram app plus the demo Facebook Login app, on the emulator."""
    return ClientConfig(
        AppCredentials(DEMO_IG_APP_ID, Secret(DEMO_IG_APP_SECRET), REDIRECT),
        facebook_app=AppCredentials(DEMO_FB_APP_ID, Secret(secret), REDIRECT),
        endpoints=Endpoints.emulator(base_url),
    )


def _consent(http: httpx.Client, dialog_url: str, decision: str = "approve") -> str:
    """Play the browser: the emulator's consent shortcut answers with the redirect at once."""
    response = http.get(f"{dialog_url}&emulator_account={DEMO_FB_USER}&emulator_decision={decision}")
    assert response.status_code in (302, 303), response.text
    return response.headers["location"]


@pytest.fixture
def clock() -> EmulatorClock:
    """A frozen clock shared by the emulator and the client's ``now``."""
    return EmulatorClock(TEST_CLOCK_START, frozen=True)


def test_sync_facebook_login_over_loopback(clock: EmulatorClock) -> None:
    """Dialog → callback (#_=_) → long-lived user token → both Pages; the linked one's token never expires."""
    with (
        run_emulator_on_loopback(clock=clock) as base,
        Client(_config(base)) as client,
        httpx.Client() as http,
    ):
        state = new_state()
        callback = _consent(http, client.facebook_authorization_url(state=state, scopes=SCOPES))
        assert callback.startswith(REDIRECT)
        assert callback.endswith("#_=_")
        result = client.facebook_login(
            callback, expected_state=state, requested_scopes=SCOPES, now=clock.now()
        )

        token = result.user_token
        assert token.kind is TokenKind.FB_USER
        assert token.user_id == DEMO_FB_USER_ID
        assert token.expires_at is not None
        assert token.expires_at - clock.now() > timedelta(days=59)
        assert result.data_access_expires_at is not None
        assert result.data_access_expires_at > clock.now()
        assert set(SCOPES) <= set(result.granted_scopes)
        assert result.missing_scopes == ()

        assert [p.page_id for p in result.pages] == [DEMO_PAGE_LINKED_ID, DEMO_PAGE_UNLINKED_ID]
        (linked,) = result.linked_pages
        assert linked.page_name == "Demo Business Page"
        assert linked.instagram_account is not None
        assert linked.instagram_account.user_id == DEMO_BUSINESS_IG_ID
        assert linked.instagram_account.username == DEMO_BUSINESS
        assert linked.page_token is not None
        assert linked.page_token.kind is TokenKind.FB_PAGE
        assert linked.page_token.expires_at is None
        (unlinked,) = result.unlinked_pages
        assert unlinked.page_id == DEMO_PAGE_UNLINKED_ID
        assert unlinked.page_name == "Demo Agency Page"
        assert unlinked.instagram_account is None
        assert result.hint is None

        info = client.debug_token(linked.page_token)
        assert info.is_valid
        assert info.type == "PAGE"
        assert info.expires_at is None  # Meta says 0: never
        assert info.app_id == DEMO_FB_APP_ID
        assert info.profile_id == DEMO_PAGE_LINKED_ID

        # The page token reads the Page itself, and the user token the person.
        assert client.facebook_me(token).user_id == DEMO_FB_USER_ID
        assert "business_management" in client.facebook_permissions(token).granted


def test_without_business_management_the_agency_page_is_hidden(clock: EmulatorClock) -> None:
    """Without business_management the portfolio Page is missing; with neither Page, the hint says why."""
    with (
        run_emulator_on_loopback(clock=clock) as base,
        Client(_config(base)) as client,
        httpx.Client() as http,
    ):
        callback = _consent(http, client.facebook_authorization_url(state="s", scopes=SCOPES[:3]))
        result = client.facebook_login(callback, now=clock.now())
        assert [p.page_id for p in result.pages] == [DEMO_PAGE_LINKED_ID]

        # A person whose only Page is business-owned sees nothing without business_management.
        base.world.create_facebook_user("agency_only", name="Agency Only")
        base.world.add_page("agency_only", "Agency Only Page", business_owned=True)
        response = http.get(
            f"{client.facebook_authorization_url(state='s', scopes=SCOPES[:3])}"
            "&emulator_account=agency_only&emulator_decision=approve"
        )
        empty = client.facebook_login(response.headers["location"], now=clock.now())
        assert empty.pages == ()
        assert empty.hint is not None
        assert "business_management" in empty.hint


def test_code_reuse_and_wrong_secret(clock: EmulatorClock) -> None:
    """A replayed callback is an invalid grant (36009); a wrong Meta app secret names the Meta app secret."""
    with (
        run_emulator_on_loopback(clock=clock) as base,
        Client(_config(base)) as client,
        Client(_config(base, secret="not-the-secret")) as wrong,
        httpx.Client() as http,
    ):
        callback = _consent(http, client.facebook_authorization_url(state="s", scopes=SCOPES))
        client.exchange_facebook_code(callback, now=clock.now())
        with pytest.raises(InvalidGrantError) as reused:
            client.exchange_facebook_code(callback, now=clock.now())
        assert reused.value.error_subcode == 36009

        callback = _consent(http, wrong.facebook_authorization_url(state="s", scopes=SCOPES))
        with pytest.raises(InvalidRequestError) as caught:
            wrong.exchange_facebook_code(callback, now=clock.now())
        assert caught.value.code == 1
        assert "Meta app" in caught.value.fix
        assert "not-the-secret" not in str(caught.value)


def test_appsecret_proof_is_checked_when_the_app_requires_it(clock: EmulatorClock) -> None:
    """With 'Require App Secret' on, every call passes: a valid proof on each token-bearing Graph call."""
    with (
        run_emulator_on_loopback(clock=clock) as base,
        Client(_config(base)) as client,
        httpx.Client() as http,
    ):
        base.world.apps[DEMO_FB_APP_ID].require_appsecret_proof = True
        callback = _consent(http, client.facebook_authorization_url(state="s", scopes=SCOPES))
        result = client.facebook_login(callback, now=clock.now())
        assert len(result.linked_pages) == 1
        pages = client.pages(result.user_token, page_size=1, now=clock.now())
        assert [p.page_id for p in pages] == [DEMO_PAGE_LINKED_ID, DEMO_PAGE_UNLINKED_ID]
    graph = base.world.log.entries(host="graph.facebook.com")
    with_token = [e for e in graph if e.auth_header]
    assert {e.endpoint for e in with_token} >= {"fb_debug_token", "fb_accounts", "fb_page"}
    for entry in graph:
        query = parse_qs(entry.query)
        assert "access_token" not in query  # tokens travel in the header only
        if entry.auth_header:
            assert len(query["appsecret_proof"][0]) == 64
        else:
            assert entry.endpoint in ("fb_code_exchange", "fb_exchange_token")
        assert entry.status == 200


async def test_async_facebook_login_in_process(clock: EmulatorClock) -> None:
    """In-process async: the same login, then a password change kills the page token (190/460)."""
    app = create_app(clock=clock)
    async with (
        emulator_async_client(app) as http,
        AsyncClient(_config("http://emulator.test"), http=http) as client,
    ):
        url = client.facebook_authorization_url(state="s" * 32)
        response = await http.get(f"{url}&emulator_account={DEMO_FB_USER}&emulator_decision=approve")
        result = await client.facebook_login(response.headers["location"], now=clock.now())
        (linked,) = result.linked_pages
        assert linked.instagram_account is not None
        assert linked.instagram_account.username == DEMO_BUSINESS
        page = await client.page_instagram_account(result.user_token, DEMO_PAGE_LINKED_ID, now=clock.now())
        assert page.page_token is not None
        assert page.page_token.expires_at is None

        app.state.world.change_password(DEMO_FB_USER)
        with pytest.raises(NeedsReauthorizationError) as caught:
            await client.pages(result.user_token, now=clock.now())
        assert (caught.value.code, caught.value.error_subcode) == (190, 460)
        info = await client.debug_token(result.user_token)
        assert not info.is_valid
        assert info.error is not None
        assert info.error.subcode == 460


def test_no_token_or_secret_in_logs(clock: EmulatorClock, caplog: pytest.LogCaptureFixture) -> None:
    """A full Facebook login logs one line per request and never a token, code, proof or the app secret."""
    caplog.set_level(logging.DEBUG)
    with (
        run_emulator_on_loopback(clock=clock) as base,
        Client(_config(base)) as client,
        httpx.Client() as http,
    ):
        callback = _consent(http, client.facebook_authorization_url(state="s", scopes=SCOPES))
        # The test's own browser leg logged the redirect (with the code); check igtoken's calls only.
        caplog.clear()
        result = client.facebook_login(callback, now=clock.now())
    code = callback.split("code=")[1].split("&")[0].split("#")[0]
    secrets = [result.user_token.value.reveal(), DEMO_FB_APP_SECRET, code]
    secrets += [p.page_token.value.reveal() for p in result.pages if p.page_token is not None]
    text = caplog.text
    assert "igtoken.http" in {r.name for r in caplog.records}
    assert "appsecret_proof=%5Bredacted%5D" in text or "appsecret_proof=[redacted]" in text
    for secret in secrets:
        assert secret not in text
