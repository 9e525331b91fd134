"""Each flow driven by hand with next()/.send(): the requests it builds and every response shape."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from igtoken import (
    AccessToken,
    AccountType,
    ConfigurationError,
    Endpoints,
    InvalidGrantError,
    InvalidRequestError,
    NeedsReauthorizationError,
    PersonalAccountError,
    Secret,
    StateMismatchError,
    TokenExpiredError,
    TokenKind,
    TokenTooNewError,
    UnexpectedResponseError,
)
from igtoken.instagram import flows as flows

from .ig_meta_fakes import (
    APP_ID,
    APP_SCOPED_ID,
    APP_SECRET,
    CODE,
    IG_USER_ID,
    LONG_TOKEN,
    NOW,
    REDIRECT_URI,
    REFRESHED_TOKEN,
    SHORT_TOKEN,
    graph_error,
    make_config,
    meta,
    oauth_error,
)

SCOPES = ("instagram_business_basic", "instagram_business_content_publish")


def finish(flow, response: httpx.Response):
    """Send the last response and return the flow's value."""
    with pytest.raises(StopIteration) as stop:
        flow.send(response)
    return stop.value.value


def form(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode())


def long_token(age=timedelta(days=2)) -> AccessToken:
    issued = NOW - age
    return AccessToken(
        Secret(LONG_TOKEN), TokenKind.IG_LONG, issued, issued + timedelta(days=60), IG_USER_ID, SCOPES
    )


# --- code exchange ---------------------------------------------------------------------------


def test_code_exchange_request_is_a_form_post_with_the_app_credentials(config) -> None:
    """POST api.instagram.com/oauth/access_token, form-encoded, every field in the body, '#_' stripped."""
    flow = flows.exchange_code(config, CODE + "#_", now=NOW)
    request = next(flow)
    assert request.method == "POST"
    assert str(request.url) == "https://api.instagram.com/oauth/access_token"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form(request) == {
        "client_id": [APP_ID],
        "client_secret": [APP_SECRET],
        "grant_type": ["authorization_code"],
        "redirect_uri": [REDIRECT_URI],
        "code": [CODE],
    }
    assert "authorization" not in request.headers
    assert request.extensions["timeout"]["read"] == config.timeout


def test_code_exchange_flat_shape(config) -> None:
    """Observed shape: numeric user_id kept exactly as a string, list permissions; missing scopes reported."""
    flow = flows.exchange_code(config, CODE, now=NOW, requested_scopes=SCOPES)
    next(flow)
    body = {
        "access_token": SHORT_TOKEN,
        "user_id": 27640875392278831,
        "permissions": ["instagram_business_basic"],
    }
    result = finish(flow, meta(200, body))
    assert result.token.value.reveal() == SHORT_TOKEN
    assert TokenKind.IG_SHORT is result.token.kind
    assert (NOW, NOW + timedelta(hours=1)) == (result.token.issued_at, result.token.expires_at)
    # The app-scoped id is kept apart: token.user_id is always the professional account id (from /me).
    assert (result.app_scoped_id, result.token.user_id) == (APP_SCOPED_ID, None)
    assert ("instagram_business_basic",) == result.granted_scopes == result.token.scopes
    assert result.missing_scopes == ("instagram_business_content_publish",)


def test_code_exchange_documented_shape(config) -> None:
    """Documented shape: {"data": [{…}]}, string user_id, comma-separated permissions."""
    flow = flows.exchange_code(config, CODE, now=NOW, requested_scopes=SCOPES)
    next(flow)
    body = {
        "data": [{"access_token": SHORT_TOKEN, "user_id": APP_SCOPED_ID, "permissions": ",".join(SCOPES)}]
    }
    result = finish(flow, meta(200, body))
    # The app-scoped id is kept apart: token.user_id is always the professional account id (from /me).
    assert (result.app_scoped_id, result.token.user_id) == (APP_SCOPED_ID, None)
    assert result.granted_scopes == SCOPES
    assert result.missing_scopes == ()


def test_code_exchange_without_permissions_reports_nothing_missing(config) -> None:
    """When Meta lists no permissions, nothing is claimed missing."""
    flow = flows.exchange_code(config, CODE, now=NOW, requested_scopes=SCOPES)
    next(flow)
    result = finish(flow, meta(200, {"access_token": SHORT_TOKEN}))
    assert (result.granted_scopes, result.missing_scopes, result.app_scoped_id) == ((), (), None)


@pytest.mark.parametrize(
    "body",
    [
        {"user_id": 1},
        {"access_token": ""},
        {"access_token": SHORT_TOKEN, "user_id": 2.7640875392278832e16},
        {"access_token": SHORT_TOKEN, "user_id": "abc"},
        {"access_token": SHORT_TOKEN, "permissions": 5},
        {"data": []},
    ],
)
def test_code_exchange_bad_success_bodies(config, body) -> None:
    """A 200 without a usable token, with a float or garbage id, or odd permissions is unexpected."""
    flow = flows.exchange_code(config, CODE, now=NOW)
    next(flow)
    with pytest.raises(UnexpectedResponseError):
        flow.send(meta(200, body))


def test_code_exchange_errors_raise_from_the_flow(config) -> None:
    """An OAuth-host error answer raises its class from .send()."""
    flow = flows.exchange_code(config, CODE, now=NOW)
    next(flow)
    with pytest.raises(InvalidGrantError, match="Matching code"):
        flow.send(meta(*oauth_error("Matching code was not found or was already used")))


def test_code_exchange_accepts_a_callback_url(config) -> None:
    """The whole callback URL can stand in for the code."""
    flow = flows.exchange_code(config, f"{REDIRECT_URI}?code={CODE}&state=s#_", now=NOW)
    assert form(next(flow))["code"] == [CODE]


# --- long-lived exchange ---------------------------------------------------------------------


def short_token(age=timedelta(minutes=1)) -> AccessToken:
    issued = NOW - age
    return AccessToken(
        Secret(SHORT_TOKEN), TokenKind.IG_SHORT, issued, issued + timedelta(hours=1), APP_SCOPED_ID, SCOPES
    )


def test_long_lived_exchange_request_and_response(config) -> None:
    """GET graph.instagram.com/access_token with ig_exchange_token; expires_in seconds from now."""
    flow = flows.exchange_long_lived(config, short_token(), now=NOW)
    request = next(flow)
    assert (
        request.method,
        request.url.host,
        request.url.path,
    ) == ("GET", "graph.instagram.com", "/access_token")
    assert parse_qs(request.url.query.decode()) == {
        "grant_type": ["ig_exchange_token"],
        "client_secret": [APP_SECRET],
        "access_token": [SHORT_TOKEN],
    }
    token = finish(
        flow, meta(200, {"access_token": LONG_TOKEN, "token_type": "bearer", "expires_in": 5183944})
    )
    assert (TokenKind.IG_LONG, NOW, NOW + timedelta(seconds=5183944)) == (
        token.kind,
        token.issued_at,
        token.expires_at,
    )
    assert (token.user_id, token.scopes) == (APP_SCOPED_ID, SCOPES)


@pytest.mark.parametrize(
    ("expires_in", "ttl"),
    [("5183944", timedelta(seconds=5183944)), (None, timedelta(days=60)), (5184000, timedelta(days=60))],
)
def test_long_lived_expires_in_variants(config, expires_in, ttl) -> None:
    """expires_in as a string is read; when absent Meta's 60 days are assumed."""
    flow = flows.exchange_long_lived(config, Secret(SHORT_TOKEN), now=NOW)
    next(flow)
    body = {"access_token": LONG_TOKEN} | ({} if expires_in is None else {"expires_in": expires_in})
    assert NOW + ttl == finish(flow, meta(200, body)).expires_at


@pytest.mark.parametrize("expires_in", [0, -5, "soon", True])
def test_long_lived_bad_expires_in(config, expires_in) -> None:
    """A zero, negative or non-numeric expires_in is UnexpectedResponseError."""
    flow = flows.exchange_long_lived(config, Secret(SHORT_TOKEN), now=NOW)
    next(flow)
    with pytest.raises(UnexpectedResponseError, match="expires_in"):
        flow.send(meta(200, {"access_token": LONG_TOKEN, "expires_in": expires_in}))


def test_long_lived_exchange_refuses_before_sending(config) -> None:
    """A long-lived or expired short token is refused without a request."""
    with pytest.raises(ConfigurationError, match="refresh"):
        next(flows.exchange_long_lived(config, long_token(), now=NOW))
    with pytest.raises(TokenExpiredError):
        next(flows.exchange_long_lived(config, short_token(age=timedelta(hours=2)), now=NOW))
    with pytest.raises(ConfigurationError):
        next(flows.exchange_long_lived(config, SHORT_TOKEN, now=NOW))  # type: ignore[arg-type]


def test_long_lived_wrong_secret_error(config) -> None:
    """graph.instagram.com's 'Error validating client secret' (code 100) is a request error with a fix."""
    flow = flows.exchange_long_lived(config, short_token(), now=NOW)
    next(flow)
    with pytest.raises(InvalidRequestError, match="client secret") as caught:
        flow.send(meta(*graph_error(100, "Error validating client secret.")))
    assert "Instagram app secret" in caught.value.fix
    assert APP_SECRET not in str(caught.value)


# --- refresh ---------------------------------------------------------------------------------


def test_refresh_request_and_response(config) -> None:
    """GET refresh_access_token with ig_refresh_token and the token only; the new token starts now."""
    flow = flows.refresh(config, long_token(), now=NOW)
    request = next(flow)
    assert request.url.path == "/refresh_access_token"
    assert parse_qs(request.url.query.decode()) == {
        "grant_type": ["ig_refresh_token"],
        "access_token": [LONG_TOKEN],
    }
    token = finish(
        flow, meta(200, {"access_token": REFRESHED_TOKEN, "token_type": "bearer", "expires_in": 5183944})
    )
    assert token.value.reveal() == REFRESHED_TOKEN
    assert (NOW, NOW + timedelta(seconds=5183944)) == (token.issued_at, token.expires_at)
    assert (token.user_id, token.scopes) == (IG_USER_ID, SCOPES)


def test_refresh_refuses_locally(config) -> None:
    """Under 24 hours or expired: the distinct error is raised before any request is yielded."""
    with pytest.raises(TokenTooNewError):
        next(flows.refresh(config, long_token(age=timedelta(hours=1)), now=NOW))
    with pytest.raises(TokenExpiredError):
        next(flows.refresh(config, long_token(age=timedelta(days=70)), now=NOW))


def test_refresh_of_a_dead_token(config) -> None:
    """190/463 from Meta raises NeedsReauthorizationError."""
    flow = flows.refresh(config, long_token(), now=NOW)
    next(flow)
    with pytest.raises(NeedsReauthorizationError) as caught:
        flow.send(meta(*graph_error(190, "Error validating access token: Session has expired", subcode=463)))
    assert caught.value.error_subcode == 463


# --- profile ---------------------------------------------------------------------------------

PROFILE = {
    "user_id": IG_USER_ID,
    "username": "acme",
    "id": APP_SCOPED_ID,
    "name": "Acme",
    "account_type": "BUSINESS",
    "profile_picture_url": "https://cdn.example/p.jpg",
    "followers_count": 10,
    "follows_count": "3",
    "media_count": 7,
}


def test_profile_request_uses_the_bearer_header(config) -> None:
    """GET /me with the fields asked for and the token in Authorization, not the URL."""
    request = next(flows.profile(config, long_token(), fields=["name"]))
    assert str(request.url) == "https://graph.instagram.com/me?fields=user_id%2Cusername%2Cname"
    assert f"Bearer {LONG_TOKEN}" == request.headers["authorization"]
    assert LONG_TOKEN not in str(request.url)
    versioned = make_config(endpoints=Endpoints(instagram_graph_version="v25.0"))
    assert next(flows.profile(versioned, Secret(LONG_TOKEN))).url.path == "/v25.0/me"


@pytest.mark.parametrize("shape", ["flat", "documented"])
def test_profile_shapes(config, shape) -> None:
    """Flat and {"data": [...]} bodies give the same Profile; id is app-scoped, user_id the IG id."""
    flow = flows.profile(config, long_token())
    next(flow)
    body = PROFILE if shape == "flat" else {"data": [PROFILE]}
    profile = finish(flow, meta(200, body))
    assert (
        profile.user_id,
        profile.app_scoped_id,
        profile.username,
        profile.name,
    ) == (IG_USER_ID, APP_SCOPED_ID, "acme", "Acme")
    assert AccountType.BUSINESS is profile.account_type
    assert (profile.followers_count, profile.follows_count, profile.media_count) == (10, 3, 7)


def test_profile_type_spellings_and_missing_fields(config) -> None:
    """Doc spelling 'Media_Creator' is read; unknown types become None; no user_id is an error."""
    flow = flows.profile(config, long_token())
    next(flow)
    profile = finish(
        flow, meta(200, {"user_id": 1, "username": "a", "account_type": "Media_Creator", "media_count": -1})
    )
    assert AccountType.MEDIA_CREATOR is profile.account_type
    assert profile.media_count is None
    flow = flows.profile(config, long_token())
    next(flow)
    assert (
        finish(flow, meta(200, {"user_id": 1, "username": "a", "account_type": "ALIEN"})).account_type is None
    )
    flow = flows.profile(config, long_token())
    next(flow)
    with pytest.raises(UnexpectedResponseError, match="user_id"):
        flow.send(meta(200, {"id": APP_SCOPED_ID, "username": "a"}))
    with pytest.raises(ConfigurationError):
        next(flows.profile(config, long_token(), fields=["bad field!"]))


# --- media -----------------------------------------------------------------------------------


def page(ids, next_url=None):
    body: dict[str, Any] = {
        "data": [{"id": i, "media_type": "IMAGE", "like_count": 3} for i in ids],
        "paging": {"cursors": {"after": "X"}},
    }
    if next_url:
        body["paging"]["next"] = next_url
    return meta(200, body)


def test_media_follows_paging_next_with_the_token_in_the_header(config) -> None:
    """paging.next is followed on graph.instagram.com; its access_token is dropped in favour of the header."""
    flow = flows.media(config, long_token(), page_size=2)
    first = next(flow)
    assert first.url.path == "/me/media" and first.url.params["limit"] == "2"
    second = flow.send(
        page(
            ["1", "2"],
            f"https://graph.instagram.com/v25.0/{IG_USER_ID}/media?access_token={LONG_TOKEN}&limit=2&after=QVFI",
        )
    )
    assert f"/v25.0/{IG_USER_ID}/media" == second.url.path
    assert "access_token" not in second.url.params and second.url.params["after"] == "QVFI"
    assert f"Bearer {LONG_TOKEN}" == second.headers["authorization"]
    items = finish(flow, page(["3"]))
    assert [m.id for m in items] == ["1", "2", "3"]
    assert items[0].media_type == "IMAGE" and items[0].raw["like_count"] == 3


def test_media_paging_on_the_emulator_and_limits(config) -> None:
    """On the emulator, next URLs under the prefix are followed; limit and a repeated next stop the loop."""
    emu = make_config(endpoints=Endpoints.emulator("http://127.0.0.1:9"))
    flow = flows.media(emu, long_token(), user_id=IG_USER_ID, limit=3)
    assert str(next(flow).url).startswith(f"http://127.0.0.1:9/graph.instagram.com/{IG_USER_ID}/media?")
    nxt = f"http://127.0.0.1:9/graph.instagram.com/{IG_USER_ID}/media?after=A"
    assert nxt == str(flow.send(page(["1", "2"], nxt)).url)
    assert [m.id for m in finish(flow, page(["3", "4"], nxt + "B"))] == ["1", "2", "3"]
    # A real Meta next URL is re-rooted onto the emulator.
    flow = flows.media(emu, long_token())
    next(flow)
    rerooted = flow.send(page(["1"], "https://graph.instagram.com/v25.0/1/media?after=Z"))
    assert str(rerooted.url) == "http://127.0.0.1:9/graph.instagram.com/v25.0/1/media?after=Z"
    assert [m.id for m in finish(flow, page(["1"], "https://graph.instagram.com/v25.0/1/media?after=Z"))] == [
        "1",
        "1",
    ]


def test_media_refuses_foreign_next_urls_and_bad_input(config) -> None:
    """A next URL on another host would receive the token: refused. Bad ids and entries are errors."""
    flow = flows.media(config, long_token())
    next(flow)
    with pytest.raises(UnexpectedResponseError, match="not sending the token"):
        flow.send(page(["1"], f"https://evil.example/media?access_token={LONG_TOKEN}"))
    flow = flows.media(config, long_token())
    next(flow)
    with pytest.raises(UnexpectedResponseError, match="without an id"):
        flow.send(meta(200, {"data": [{"caption": "x"}]}))
    with pytest.raises(ConfigurationError):
        next(flows.media(config, long_token(), user_id="../me"))
    with pytest.raises(ConfigurationError):
        next(flows.media(config, long_token(), limit=0))


# --- login -----------------------------------------------------------------------------------


def run_login(config, account_type="BUSINESS", **kwargs):
    flow = flows.login(
        config, f"{REDIRECT_URI}?code={CODE}&state=st#_", now=NOW, expected_state="st", **kwargs
    )
    first = next(flow)
    assert first.url.host == "api.instagram.com"
    second = flow.send(
        meta(
            200,
            {
                "access_token": SHORT_TOKEN,
                "user_id": int(APP_SCOPED_ID),
                "permissions": ["instagram_business_basic"],
            },
        )
    )
    assert second.url.path == "/access_token" and second.url.params["access_token"] == SHORT_TOKEN
    third = flow.send(meta(200, {"access_token": LONG_TOKEN, "token_type": "bearer", "expires_in": 5183944}))
    assert third.url.path == "/me" and f"Bearer {LONG_TOKEN}" == third.headers["authorization"]
    return finish(flow, meta(200, PROFILE | {"account_type": account_type}))


def test_login_runs_code_short_long_profile(config) -> None:
    """The composite login returns the long-lived token (with the IG professional id) and the account."""
    result = run_login(config, requested_scopes=SCOPES)
    assert result.token.value.reveal() == LONG_TOKEN
    assert TokenKind.IG_LONG is result.token.kind
    assert IG_USER_ID == result.token.user_id == result.profile.user_id
    assert result.profile.app_scoped_id == APP_SCOPED_ID
    assert result.granted_scopes == ("instagram_business_basic",)
    assert result.missing_scopes == ("instagram_business_content_publish",)


def test_login_refuses_personal_accounts(config) -> None:
    """A PERSONAL account raises PersonalAccountError saying how to switch to Business or Creator."""
    with pytest.raises(PersonalAccountError) as caught:
        run_login(config, account_type="PERSONAL")
    assert "Business and Creator" in str(caught.value)
    assert "Switch to professional account" in caught.value.fix


def test_login_checks_state_before_any_request(config) -> None:
    """A forged callback stops the login before a request is built."""
    with pytest.raises(StateMismatchError):
        next(flows.login(config, f"{REDIRECT_URI}?code={CODE}&state=evil", now=NOW, expected_state="st"))
