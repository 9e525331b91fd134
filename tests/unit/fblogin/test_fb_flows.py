"""Each Facebook Login flow driven by hand with next()/.send(): its requests and each answer shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from igtoken import (
    AccessToken,
    ConfigurationError,
    Endpoints,
    Secret,
    TokenExpiredError,
    TokenKind,
    UnexpectedResponseError,
    app_access_token,
    appsecret_proof,
)
from igtoken.facebook import flows as flows

from .fb_fakes import (
    FB_CODE,
    IG_ID,
    IG_USERNAME,
    LONG_USER_TOKEN,
    META_APP_ID,
    META_APP_SECRET,
    NOW,
    PAGE_LINKED,
    PAGE_TOKEN_LINKED,
    PAGE_TOKEN_UNLINKED,
    PAGE_UNLINKED,
    REDIRECT_URI,
    SHORT_USER_TOKEN,
    USER_ID,
    accounts_body,
    assert_authenticated,
    debug_body,
    meta,
    page_body,
    proof,
    token_body,
)


def finish(flow, response: httpx.Response):
    """Send the last response and return the flow's value."""
    with pytest.raises(StopIteration) as stop:
        flow.send(response)
    return stop.value.value


def user_token(value: str = LONG_USER_TOKEN, *, ttl=timedelta(days=60), age=timedelta(0)) -> AccessToken:
    issued = NOW - age
    return AccessToken(Secret(value), TokenKind.FB_USER, issued, issued + ttl, USER_ID)


# --- appsecret_proof ------------------------------------------------------------------------------


def test_appsecret_proof_is_hmac_sha256_hex_of_the_token() -> None:
    """Matches an independent HMAC-SHA256(app_secret, token) hex digest, and a known vector."""
    assert appsecret_proof(Secret(META_APP_SECRET), Secret(LONG_USER_TOKEN)) == proof(LONG_USER_TOKEN)
    # RFC 4231-style check with a published key/message pair.
    assert (
        appsecret_proof(Secret("key"), Secret("The quick brown fox jumps over the lazy dog"))
        == "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )


def test_app_access_token_is_the_id_pipe_secret_form(config) -> None:
    """app_access_token builds APP_ID|APP_SECRET from the Meta app, masked in repr."""
    token = app_access_token(config.facebook)
    assert token.reveal() == f"{META_APP_ID}|{META_APP_SECRET}"
    assert META_APP_SECRET not in repr(token)


# --- code exchange --------------------------------------------------------------------------------


def test_code_exchange_is_a_versioned_get_with_the_meta_credentials(config) -> None:
    """GET graph.facebook.com/v25.0/oauth/access_token with client_id, redirect_uri, client_secret, code."""
    flow = flows.exchange_facebook_code(config, f"{REDIRECT_URI}?code={FB_CODE}&state=s#_=_", now=NOW)
    request = next(flow)
    assert request.method == "GET"
    assert request.url.copy_with(query=None) == "https://graph.facebook.com/v25.0/oauth/access_token"
    assert dict(request.url.params) == {
        "client_id": META_APP_ID,
        "redirect_uri": REDIRECT_URI,
        "client_secret": META_APP_SECRET,
        "code": FB_CODE,
    }
    assert "authorization" not in request.headers
    token = finish(flow, meta(200, token_body(SHORT_USER_TOKEN, expires_in=5183)))
    assert token.kind is TokenKind.FB_USER
    assert token.value.reveal() == SHORT_USER_TOKEN
    assert (token.issued_at, token.expires_at) == (NOW, NOW + timedelta(seconds=5183))


def test_code_exchange_long_answer_and_missing_expires_in(config) -> None:
    """A ~60-day token from the code exchange keeps Meta's expires_in; without one, an hour is assumed."""
    flow = flows.exchange_facebook_code(config, FB_CODE, now=NOW)
    next(flow)
    assert finish(flow, meta(200, token_body(SHORT_USER_TOKEN))).expires_at == NOW + timedelta(
        seconds=5183944
    )
    flow = flows.exchange_facebook_code(config, FB_CODE, now=NOW)
    next(flow)
    assert finish(flow, meta(200, token_body(SHORT_USER_TOKEN, None))).expires_at == NOW + timedelta(hours=1)


def test_code_exchange_refuses_bodies_without_a_token(config) -> None:
    """A 200 without access_token, or with a bad expires_in, is an UnexpectedResponseError."""
    for body in ({"token_type": "bearer"}, {"access_token": SHORT_USER_TOKEN, "expires_in": "soon"}):
        flow = flows.exchange_facebook_code(config, FB_CODE, now=NOW)
        next(flow)
        with pytest.raises(UnexpectedResponseError):
            flow.send(meta(200, body))


def test_graph_version_and_emulator_endpoints_are_followed() -> None:
    """A configured Graph version and the emulator's path-prefix base are used on graph.facebook.com."""
    from .fb_fakes import make_config

    config = make_config(endpoints=Endpoints.emulator("http://127.0.0.1:5555", graph_version="v26.0"))
    request = next(flows.exchange_facebook_code(config, FB_CODE, now=NOW))
    assert str(request.url).startswith("http://127.0.0.1:5555/graph.facebook.com/v26.0/oauth/access_token?")


# --- fb_exchange_token ----------------------------------------------------------------------------


def test_long_lived_exchange_request_and_answer(config) -> None:
    """GET …/oauth/access_token?grant_type=fb_exchange_token; 60 days from expires_in, default when absent."""
    short = user_token(SHORT_USER_TOKEN, ttl=timedelta(hours=1))
    flow = flows.exchange_facebook_long_lived(config, short, now=NOW)
    request = next(flow)
    assert dict(request.url.params) == {
        "grant_type": "fb_exchange_token",
        "client_id": META_APP_ID,
        "client_secret": META_APP_SECRET,
        "fb_exchange_token": SHORT_USER_TOKEN,
    }
    token = finish(flow, meta(200, token_body(LONG_USER_TOKEN, 5183944)))
    assert token.value.reveal() == LONG_USER_TOKEN
    assert token.expires_at == NOW + timedelta(seconds=5183944)
    assert token.user_id == USER_ID
    flow = flows.exchange_facebook_long_lived(config, Secret(SHORT_USER_TOKEN), now=NOW)
    next(flow)
    assert finish(flow, meta(200, token_body(LONG_USER_TOKEN, None))).expires_at == NOW + timedelta(days=60)


def test_long_lived_exchange_refuses_wrong_or_expired_tokens_locally(config) -> None:
    """An Instagram token or an expired user token is refused before anything is sent."""
    ig = AccessToken(Secret("IGAAxxxxxxxxxxxxxxxxxxxx"), TokenKind.IG_LONG, NOW, NOW + timedelta(days=60))
    with pytest.raises(ConfigurationError, match=r"graph\.instagram\.com"):
        next(flows.exchange_facebook_long_lived(config, ig, now=NOW))
    expired = user_token(SHORT_USER_TOKEN, ttl=timedelta(hours=1), age=timedelta(hours=2))
    with pytest.raises(TokenExpiredError):
        next(flows.exchange_facebook_long_lived(config, expired, now=NOW))
    with pytest.raises(ValueError, match="timezone"):
        next(flows.exchange_facebook_long_lived(config, expired, now=datetime(2026, 1, 1)))  # noqa: DTZ001


# --- app token, /me, /me/permissions --------------------------------------------------------------


def test_app_token_uses_client_credentials(config) -> None:
    """grant_type=client_credentials with the Meta app; the answer is a Secret."""
    flow = flows.facebook_app_token(config)
    request = next(flow)
    assert dict(request.url.params) == {
        "grant_type": "client_credentials",
        "client_id": META_APP_ID,
        "client_secret": META_APP_SECRET,
    }
    token = finish(flow, meta(200, {"access_token": f"{META_APP_ID}|abcDEF", "token_type": "bearer"}))
    assert token.reveal() == f"{META_APP_ID}|abcDEF"


def test_me_and_permissions(config) -> None:
    """/me reads id and name; /me/permissions splits granted, declined and expired; both carry the proof."""
    flow = flows.facebook_me(config, user_token())
    request = next(flow)
    assert request.url.copy_with(query=None) == "https://graph.facebook.com/v25.0/me"
    assert request.url.params["fields"] == "id,name"
    assert_authenticated(request, LONG_USER_TOKEN)
    me = finish(flow, meta(200, {"id": int(USER_ID), "name": "Jo Doe"}))
    assert (me.user_id, me.name) == (USER_ID, "Jo Doe")

    permissions_flow = flows.facebook_permissions(config, Secret(LONG_USER_TOKEN))
    request = next(permissions_flow)
    assert request.url.path == "/v25.0/me/permissions"
    assert_authenticated(request, LONG_USER_TOKEN)
    body = {
        "data": [
            {"permission": "instagram_basic", "status": "granted"},
            {"permission": "pages_show_list", "status": "granted"},
            {"permission": "business_management", "status": "declined"},
            {"permission": "instagram_manage_insights", "status": "expired"},
        ]
    }
    perms = finish(permissions_flow, meta(200, body))
    assert perms.granted == ("instagram_basic", "pages_show_list")
    assert perms.declined == ("business_management",)
    assert perms.expired == ("instagram_manage_insights",)


def test_me_without_id_is_unexpected(config) -> None:
    """/me without an id is an UnexpectedResponseError."""
    flow = flows.facebook_me(config, Secret(LONG_USER_TOKEN))
    next(flow)
    with pytest.raises(UnexpectedResponseError):
        flow.send(meta(200, {"name": "x"}))


# --- /me/accounts ---------------------------------------------------------------------------------


def test_pages_follow_paging_next_with_a_fresh_proof(config) -> None:
    """Both pages are read; the next request drops Meta's access_token and appsecret_proof and sends ours."""
    flow = flows.pages(config, user_token(), now=NOW, page_size=1)
    first = next(flow)
    assert first.url.path == "/v25.0/me/accounts"
    assert first.url.params["fields"] == "id,name,category,tasks,access_token,instagram_business_account"
    assert first.url.params["limit"] == "1"
    assert_authenticated(first, LONG_USER_TOKEN)
    next_url = (
        "https://graph.facebook.com/v25.0/me/accounts?access_token=EAAleaked0123456789abcdef"
        "&appsecret_proof=deadbeef&limit=1&after=QVFJ"
    )
    second = flow.send(meta(200, accounts_body(next_url=next_url, unlinked=False)))
    assert second.url.host == "graph.facebook.com"
    assert second.url.params["after"] == "QVFJ"
    assert_authenticated(second, LONG_USER_TOKEN)
    found = finish(flow, meta(200, accounts_body(linked=False)))
    assert [p.page_id for p in found] == [PAGE_LINKED, PAGE_UNLINKED]
    linked, unlinked = found
    assert linked.instagram_account_id == IG_ID
    assert linked.name == "Acme Shop"
    assert linked.category == "App Page"
    assert "MANAGE" in linked.tasks
    assert linked.page_token.kind is TokenKind.FB_PAGE
    assert linked.page_token.value.reveal() == PAGE_TOKEN_LINKED
    assert linked.page_token.expires_at is None
    assert unlinked.instagram_account_id is None
    assert unlinked.page_token.value.reveal() == PAGE_TOKEN_UNLINKED


def test_pages_refuses_a_next_url_on_another_host(config) -> None:
    """paging.next outside graph.facebook.com is refused, and the token is not sent there."""
    flow = flows.pages(config, user_token(), now=NOW)
    next(flow)
    with pytest.raises(UnexpectedResponseError, match=r"outside graph\.facebook\.com") as info:
        flow.send(meta(200, accounts_body(next_url=f"https://evil.example/x?access_token={LONG_USER_TOKEN}")))
    assert LONG_USER_TOKEN not in str(info.value)


def test_pages_on_the_emulator_reroot_meta_next_urls() -> None:
    """A next URL naming graph.facebook.com is re-rooted on the configured (emulator) endpoint."""
    from .fb_fakes import make_config

    config = make_config(endpoints=Endpoints.emulator("http://127.0.0.1:5555"))
    flow = flows.pages(config, user_token(), now=NOW)
    next(flow)
    second = flow.send(
        meta(200, accounts_body(next_url="https://graph.facebook.com/v25.0/me/accounts?after=QVFJ"))
    )
    assert str(second.url).startswith("http://127.0.0.1:5555/graph.facebook.com/v25.0/me/accounts?")


def test_pages_empty_list_and_page_tokens_from_a_short_user_token(config) -> None:
    """No Pages gives an empty list; page tokens from a short-lived user token expire within the hour."""
    flow = flows.pages(config, user_token(SHORT_USER_TOKEN, ttl=timedelta(hours=2)), now=NOW)
    next(flow)
    assert finish(flow, meta(200, {"data": []})) == []
    flow = flows.pages(config, user_token(SHORT_USER_TOKEN, ttl=timedelta(minutes=30)), now=NOW)
    next(flow)
    found = finish(flow, meta(200, accounts_body()))
    assert found[0].page_token.expires_at == NOW + timedelta(minutes=30)


def test_pages_refuses_malformed_bodies(config) -> None:
    """No data list, a Page without id, or a non-object instagram_business_account is unexpected."""
    for body in ({}, {"data": [{"name": "x"}]}, {"data": [{"id": "1", "instagram_business_account": "9"}]}):
        flow = flows.pages(config, user_token(), now=NOW)
        next(flow)
        with pytest.raises(UnexpectedResponseError):
            flow.send(meta(200, body))


# --- /{page-id} -----------------------------------------------------------------------------------


def test_page_instagram_account_reads_the_token_and_the_linked_account(config) -> None:
    """GET /{page-id} asks for the page token and instagram_business_account{id,username}."""
    flow = flows.page_instagram_account(config, user_token(), PAGE_LINKED, now=NOW)
    request = next(flow)
    assert request.url.path == f"/v25.0/{PAGE_LINKED}"
    assert request.url.params["fields"] == "id,name,access_token,instagram_business_account{id,username}"
    assert_authenticated(request, LONG_USER_TOKEN)
    page = finish(flow, meta(200, page_body()))
    assert page.page_id == PAGE_LINKED
    assert page.page_name == "Acme Shop"
    assert page.is_linked
    assert (page.instagram_account.user_id, page.instagram_account.username) == (IG_ID, IG_USERNAME)
    assert page.page_token.kind is TokenKind.FB_PAGE
    assert page.page_token.expires_at is None
    assert page.page_token.value.reveal() == PAGE_TOKEN_LINKED


def test_page_without_linked_account(config) -> None:
    """A Page with no instagram_business_account yields instagram_account None, still with its token."""
    flow = flows.page_instagram_account(config, Secret(LONG_USER_TOKEN), PAGE_UNLINKED, now=NOW)
    next(flow)
    page = finish(flow, meta(200, page_body(linked=False)))
    assert page.instagram_account is None
    assert not page.is_linked
    assert page.page_token.value.reveal() == PAGE_TOKEN_UNLINKED


def test_page_node_problems(config) -> None:
    """A bad page id is refused locally; no page token, or an account without username, is unexpected."""
    with pytest.raises(ConfigurationError, match="numeric"):
        next(flows.page_instagram_account(config, user_token(), "../me", now=NOW))
    for body in (
        {"id": PAGE_LINKED, "name": "x"},
        {"id": PAGE_LINKED, "access_token": PAGE_TOKEN_LINKED, "instagram_business_account": {"id": IG_ID}},
    ):
        flow = flows.page_instagram_account(config, user_token(), PAGE_LINKED, now=NOW)
        next(flow)
        with pytest.raises(UnexpectedResponseError):
            flow.send(meta(200, body))


# --- debug_token ----------------------------------------------------------------------------------


def test_debug_token_request_uses_the_app_token_and_its_proof(config) -> None:
    """input_token in the query, the APP_ID|APP_SECRET app token in the header with its own proof."""
    flow = flows.debug_token(config, user_token())
    request = next(flow)
    assert request.url.path == "/v25.0/debug_token"
    assert request.url.params["input_token"] == LONG_USER_TOKEN
    assert_authenticated(request, f"{META_APP_ID}|{META_APP_SECRET}")
    info = finish(flow, meta(200, debug_body()))
    assert info.is_valid
    assert (info.app_id, info.type, info.user_id, info.application) == (
        META_APP_ID,
        "USER",
        USER_ID,
        "Social Cafe",
    )
    assert info.scopes == ("instagram_basic", "pages_show_list", "business_management")
    assert info.expires_at == datetime.fromtimestamp(1777777777, UTC)
    assert info.data_access_expires_at == datetime.fromtimestamp(1780000000, UTC)
    assert info.issued_at == datetime.fromtimestamp(1772366400, UTC)
    assert info.targets("pages_show_list") == (PAGE_LINKED, "134895793791915")
    assert info.targets("business_management") == ()
    assert info.targets("ads_read") is None
    assert info.error is None


def test_debug_token_with_a_given_app_token(config) -> None:
    """A caller-supplied app token (e.g. from client_credentials) is used instead of the literal form."""
    flow = flows.debug_token(config, Secret(PAGE_TOKEN_LINKED), app_token=Secret("770600000000042|fromMeta"))
    assert_authenticated(next(flow), "770600000000042|fromMeta")


def test_debug_token_page_token_never_expires(config) -> None:
    """expires_at 0 (page token) becomes None; profile_id names the Page."""
    flow = flows.debug_token(config, Secret(PAGE_TOKEN_LINKED))
    next(flow)
    body = debug_body(type="PAGE", expires_at=0, profile_id=PAGE_LINKED, data_access_expires_at=0)
    info = finish(flow, meta(200, body))
    assert info.type == "PAGE"
    assert info.expires_at is None
    assert info.data_access_expires_at is None
    assert info.profile_id == PAGE_LINKED


def test_debug_token_invalid_token_is_data_not_an_exception(config) -> None:
    """is_valid false with data.error is returned as TokenDebugInfo.error, message redacted."""
    flow = flows.debug_token(config, Secret(SHORT_USER_TOKEN))
    next(flow)
    body = {
        "data": {
            "error": {"code": 190, "message": f"Malformed access token {SHORT_USER_TOKEN}", "subcode": 463},
            "is_valid": False,
            "scopes": [],
        }
    }
    info = finish(flow, meta(200, body))
    assert not info.is_valid
    assert (info.error.code, info.error.subcode) == (190, 463)
    assert SHORT_USER_TOKEN not in info.error.message
    assert info.scopes == ()


def test_debug_token_refuses_malformed_bodies(config) -> None:
    """No data object, or a non-timestamp expires_at, is unexpected."""
    bodies: tuple[dict[str, Any], ...] = ({}, {"data": []}, debug_body(expires_at="tomorrow"))
    for body in bodies:
        flow = flows.debug_token(config, Secret(LONG_USER_TOKEN))
        next(flow)
        with pytest.raises(UnexpectedResponseError):
            flow.send(meta(200, body))
