"""Issue 21: the library as a developer meets it, against the emulator through igtoken's own fixtures.

Public flows driven by hand, the client's clock, serializable tokens, inspecting a bare token, one
"log in again" exception, personal accounts, throttles that raise at once, and Instagram data read
through a Facebook Page token. Every client here comes from the pytest plugin (``igtoken_client``),
which is wired to the emulator in-process and to its frozen clock.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from igtoken import (
    AccessToken,
    AsyncClient,
    Client,
    InvalidRequestError,
    LoginRequiredError,
    LoginResult,
    MediaPage,
    NeedsReauthorizationError,
    PersonalAccountError,
    Secret,
    ThrottledError,
    TokenExpiredError,
    TokenKind,
    new_state,
)
from igtoken.emulator import EmulatorClock
from igtoken.emulator.demo import (
    DEMO_BUSINESS,
    DEMO_BUSINESS_IG_ID,
    DEMO_FB_USER,
    DEMO_IG_APP_ID,
    DEMO_PAGE_LINKED_ID,
    DEMO_PERSONAL,
)
from igtoken.emulator.world import World
from igtoken.facebook import flows as fb_flows
from igtoken.instagram import flows as ig_flows
from igtoken.testing import ASGISyncTransport, emulator_config, emulator_consent

IG_SCOPES = ["instagram_business_basic"]
FB_SCOPES = ["instagram_basic", "pages_show_list", "pages_read_engagement", "business_management"]


def _login(client: Client, http: httpx.Client, account: str = DEMO_BUSINESS) -> LoginResult:
    state = new_state()
    callback = emulator_consent(http, client.authorization_url(state=state, scopes=IG_SCOPES), account)
    return client.login(callback, expected_state=state)


def _page_token(client: Client, http: httpx.Client) -> AccessToken:
    state = new_state()
    url = client.facebook_authorization_url(state=state, scopes=FB_SCOPES)
    result = client.facebook_login(emulator_consent(http, url, DEMO_FB_USER), expected_state=state)
    (linked,) = result.linked_pages
    assert linked.page_token is not None and linked.instagram_account is not None
    assert linked.instagram_account.user_id == DEMO_BUSINESS_IG_ID
    return linked.page_token


def _drive(flow: ig_flows.Flow[object], http: httpx.Client) -> object:
    """Drive a flow by hand: send each request with plain httpx."""
    request = next(flow)
    while True:
        try:
            request = flow.send(http.send(request))
        except StopIteration as done:
            return done.value


# -- 1. public flows -------------------------------------------------------------------------------


def test_public_flows_driven_by_hand_yield_masked_requests(
    igtoken_client: Client, emulator_client: httpx.Client, emulator_clock: EmulatorClock
) -> None:
    """igtoken.instagram.flows / igtoken.facebook.flows: no secret in any yielded request's repr."""
    token = _login(igtoken_client, emulator_client).token
    config = igtoken_client.config
    emulator_clock.advance(25 * 3600)

    flow = ig_flows.refresh(config, token, now=emulator_clock.now())
    request = next(flow)
    shown = repr(request)
    assert token.value.reveal() not in shown and "access_token=[redacted]" in shown
    with pytest.raises(StopIteration) as done:
        flow.send(emulator_client.send(request))
    refreshed = done.value.value
    assert isinstance(refreshed, AccessToken) and refreshed.kind is TokenKind.IG_LONG

    exchange = ig_flows.exchange_code(config, "AQBcode", now=emulator_clock.now())
    assert config.app.app_secret.reveal() not in repr(next(exchange))  # the secret is in the form body

    page_token = _page_token(igtoken_client, emulator_client)
    debug = fb_flows.debug_token(config, page_token)
    shown = repr(next(debug))
    assert page_token.value.reveal() not in shown
    assert "input_token=[redacted]" in shown and "appsecret_proof=[redacted]" in shown
    media = fb_flows.instagram_media_page(config, page_token, DEMO_BUSINESS_IG_ID, page_size=2)
    page = _drive(media, emulator_client)
    assert isinstance(page, MediaPage) and len(page.items) == 2


# -- 2. the clock ----------------------------------------------------------------------------------


def test_refresh_under_the_moved_emulator_clock_needs_no_now(
    igtoken_client: Client, emulator_client: httpx.Client, emulator_clock: EmulatorClock
) -> None:
    """The fixture's client reads the emulator's clock: 25 hours on, refresh() works without now=."""
    result = _login(igtoken_client, emulator_client)
    assert result.token.issued_at == emulator_clock.now()
    emulator_clock.advance(25 * 3600)
    assert igtoken_client.now() == emulator_clock.now()
    token = igtoken_client.refresh(result.token)
    assert token.issued_at == emulator_clock.now()
    assert token.expires_at is not None and token.expires_at - emulator_clock.now() > timedelta(days=59)


def test_a_plain_function_is_a_clock_too(emulator_app, emulator_clock: EmulatorClock) -> None:
    """clock= takes a function returning an aware datetime, or anything with now()."""
    fixed = emulator_clock.now() + timedelta(days=3)
    with Client(emulator_config(), transport=ASGISyncTransport(emulator_app), clock=lambda: fixed) as client:
        assert client.now() == fixed


# -- 3. serializable tokens, inspect ---------------------------------------------------------------


def test_tokens_deep_copy_and_round_trip_through_dicts(
    igtoken_client: Client, emulator_client: httpx.Client
) -> None:
    """deepcopy, dataclasses.asdict (Secret kept, masked) and to_dict(reveal=True)/from_dict through JSON."""
    token = _login(igtoken_client, emulator_client).token
    assert copy.deepcopy(token) == token
    as_dict = dataclasses.asdict(token)
    assert isinstance(as_dict["value"], Secret) and token.value.reveal() not in repr(as_dict)
    stored = json.dumps(token.to_dict(reveal=True))
    assert AccessToken.from_dict(json.loads(stored)) == token
    assert token.value.reveal() not in json.dumps(token.to_dict())


def test_inspect_a_bare_instagram_token_then_refresh_it(
    igtoken_client: Client, emulator_client: httpx.Client, emulator_clock: EmulatorClock
) -> None:
    """A token string alone (as from an env var): inspect says what it is; it can then be refreshed."""
    bare = _login(igtoken_client, emulator_client).token.value.reveal()
    young = igtoken_client.inspect(bare)
    assert young.token.kind is TokenKind.IG_LONG
    assert young.token.user_id == DEMO_BUSINESS_IG_ID
    assert young.profile is not None and young.profile.username == DEMO_BUSINESS
    assert young.token.expires_at is not None
    assert young.token.expires_at <= emulator_clock.now() + timedelta(days=60)

    emulator_clock.advance(2 * 86400)
    inspected = igtoken_client.inspect(bare)  # two days old: Meta refreshes it, and so says its expiry
    assert inspected.token.expires_at is not None
    assert inspected.token.expires_at - emulator_clock.now() > timedelta(days=59)
    emulator_clock.advance(2 * 86400)
    refreshed = igtoken_client.refresh(inspected.token)
    assert refreshed.expires_at is not None and refreshed.expires_at - emulator_clock.now() > timedelta(
        days=59
    )


def test_inspect_a_bare_facebook_page_token(igtoken_client: Client, emulator_client: httpx.Client) -> None:
    """A Page token string: debug_token says it is a Page token that never expires, for the Page."""
    page_token = _page_token(igtoken_client, emulator_client)
    inspected = igtoken_client.inspect(page_token.value)
    assert inspected.token.kind is TokenKind.FB_PAGE
    assert inspected.token.expires_at is None
    assert inspected.token.user_id == DEMO_PAGE_LINKED_ID


# -- 4. one "log in again" family, personal accounts, ids, media -----------------------------------


def test_one_exception_for_every_log_in_again(
    igtoken_client: Client,
    emulator_client: httpx.Client,
    emulator_clock: EmulatorClock,
    emulator_world: World,
) -> None:
    """Local expiry and Meta's 190 are both LoginRequiredError."""
    token = _login(igtoken_client, emulator_client).token
    emulator_clock.advance(61 * 86400)
    with pytest.raises(LoginRequiredError) as local:
        igtoken_client.refresh(token)
    assert isinstance(local.value, TokenExpiredError)

    fresh = _login(igtoken_client, emulator_client).token
    emulator_world.fire_deauthorize(DEMO_IG_APP_ID, DEMO_BUSINESS)
    with pytest.raises(LoginRequiredError) as remote:
        igtoken_client.profile(fresh)
    assert isinstance(remote.value, NeedsReauthorizationError)
    assert remote.value.code == 190


def test_a_personal_account_is_a_personal_account_error(
    igtoken_client: Client, emulator_client: httpx.Client
) -> None:
    """Meta's denial for a personal account arrives as PersonalAccountError, with the fix."""
    with pytest.raises(PersonalAccountError) as caught:
        _login(igtoken_client, emulator_client, DEMO_PERSONAL)
    assert "professional account" in caught.value.fix


def test_user_id_is_the_professional_account_id_on_every_path(
    igtoken_client: Client, emulator_client: httpx.Client
) -> None:
    """login() and the step-by-step flow agree: token.user_id is /me's user_id; the app-scoped id is apart."""
    result = _login(igtoken_client, emulator_client)
    assert result.token.user_id == result.profile.user_id == DEMO_BUSINESS_IG_ID
    assert result.profile.app_scoped_id not in (None, DEMO_BUSINESS_IG_ID)

    state = new_state()
    url = igtoken_client.authorization_url(state=state, scopes=IG_SCOPES)
    exchanged = igtoken_client.exchange_code(emulator_consent(emulator_client, url, DEMO_BUSINESS))
    assert exchanged.token.user_id is None
    assert exchanged.app_scoped_id == result.profile.app_scoped_id


def test_media_pages_resume_from_a_cursor_with_datetimes(
    igtoken_client: Client, emulator_client: httpx.Client
) -> None:
    """media_page(after=…) walks the same media as media(); timestamps are aware datetimes."""
    token = _login(igtoken_client, emulator_client).token
    everything = igtoken_client.media(token)
    walked: list[Any] = []
    cursor: str | None = None
    while True:
        page = igtoken_client.media_page(token, page_size=2, after=cursor)
        walked += page.items
        if page.after is None:
            break
        cursor = page.after
    assert [m.id for m in walked] == [m.id for m in everything]
    assert all(isinstance(m.timestamp, datetime) and m.timestamp.tzinfo for m in everything)
    assert (
        igtoken_client.media(token, after=igtoken_client.media_page(token, page_size=2).after)
        == everything[2:]
    )


# -- 5. throttles ----------------------------------------------------------------------------------


def test_a_throttle_raises_at_once_unless_asked_to_wait(
    igtoken_client: Client, emulator_client: httpx.Client, emulator_world: World, emulator_app
) -> None:
    """A one-minute hint: ThrottledError(retry_after=60) on the first answer; wait=True retries."""
    token = _login(igtoken_client, emulator_client).token
    emulator_world.faults.add("ig_me", "throttle", wait_minutes=1, times=1)
    with pytest.raises(ThrottledError) as caught:
        igtoken_client.profile(token)
    assert caught.value.retry_after == 60
    assert igtoken_client.profile(token).username == DEMO_BUSINESS  # the fault was used once

    emulator_world.faults.add("ig_me", "throttle", wait_minutes=1, times=1)
    config = emulator_config()
    with Client(config, transport=ASGISyncTransport(emulator_app), wait=True) as waiting:
        assert waiting.profile(token).username == DEMO_BUSINESS  # stamina's test mode skips the sleep


# -- 6. Instagram data through Facebook Login --------------------------------------------------------


def test_instagram_profile_and_media_through_a_page_token(
    igtoken_client: Client, emulator_client: httpx.Client, emulator_world: World
) -> None:
    """One client: profile/media/media_page with a Page token go to graph.facebook.com with a proof."""
    page_token = _page_token(igtoken_client, emulator_client)
    emulator_world.update_app(igtoken_client.config.facebook.app_id, require_appsecret_proof=True)

    profile = igtoken_client.profile(page_token, user_id=DEMO_BUSINESS_IG_ID)
    assert (profile.user_id, profile.username) == (DEMO_BUSINESS_IG_ID, DEMO_BUSINESS)
    assert profile.media_count is not None

    media = igtoken_client.media(page_token, user_id=DEMO_BUSINESS_IG_ID)
    assert len(media) == profile.media_count
    first = igtoken_client.media_page(page_token, user_id=DEMO_BUSINESS_IG_ID, page_size=2)
    rest = igtoken_client.media(page_token, user_id=DEMO_BUSINESS_IG_ID, after=first.after)
    assert [m.id for m in [*first.items, *rest]] == [m.id for m in media]
    assert all(isinstance(m.timestamp, datetime) for m in media)


# -- the async twin ----------------------------------------------------------------------------------


async def test_async_client_reads_through_a_page_token_and_inspects(
    igtoken_async_client: AsyncClient, igtoken_client: Client, emulator_client: httpx.Client
) -> None:
    """AsyncClient has the same surface: Facebook-side profile and media, inspect, the clock."""
    page_token = _page_token(igtoken_client, emulator_client)
    profile = await igtoken_async_client.profile(page_token, user_id=DEMO_BUSINESS_IG_ID)
    assert profile.username == DEMO_BUSINESS
    page = await igtoken_async_client.media_page(page_token, user_id=DEMO_BUSINESS_IG_ID, page_size=1)
    assert len(page.items) == 1 and page.after is not None
    inspected = await igtoken_async_client.inspect(page_token.value.reveal())
    assert inspected.token.kind is TokenKind.FB_PAGE
    assert igtoken_async_client.now() == igtoken_client.now()


def test_inspect_says_what_to_do_with_short_and_dead_tokens(
    igtoken_client: Client, emulator_client: httpx.Client
) -> None:
    """A short-lived Instagram token: exchange it first (the fix says so); a dead Facebook token: log in."""
    state = new_state()
    url = igtoken_client.authorization_url(state=state, scopes=IG_SCOPES)
    short = igtoken_client.exchange_code(emulator_consent(emulator_client, url, DEMO_BUSINESS)).token
    with pytest.raises(InvalidRequestError) as caught:
        igtoken_client.inspect(short.value)
    assert "exchange_long_lived" in caught.value.fix
    with pytest.raises(LoginRequiredError):
        igtoken_client.inspect("EAA" + "x" * 60)
