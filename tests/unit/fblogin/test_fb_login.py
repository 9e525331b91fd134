"""The composite facebook_login flow driven by hand: every step's request, and what the result says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from igtoken import StateMismatchError, TokenKind, UnexpectedResponseError
from igtoken.core.secret import Secret
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
    token_body,
)

CALLBACK = f"{REDIRECT_URI}?code={FB_CODE}&state=st-1#_=_"
SCOPES = ("instagram_basic", "pages_show_list", "business_management", "instagram_content_publish")
LONG_USER_TOKEN_SECRET = Secret(LONG_USER_TOKEN)


def run_to_pages(config, *, debug=None, requested=SCOPES):
    """Drive the login up to the /me/accounts request; returns the flow and the requests seen."""
    flow = flows.facebook_login(config, CALLBACK, now=NOW, expected_state="st-1", requested_scopes=requested)
    seen = [next(flow)]
    seen.append(flow.send(meta(200, token_body(SHORT_USER_TOKEN, 5183))))
    seen.append(flow.send(meta(200, token_body(LONG_USER_TOKEN, 5183944))))
    seen.append(flow.send(meta(200, debug or debug_body())))
    return flow, seen


def finish(flow, response: httpx.Response):
    with pytest.raises(StopIteration) as stop:
        flow.send(response)
    return stop.value.value


def test_login_steps_and_result(config) -> None:
    """code → fb_exchange_token → debug_token → /me/accounts → /{linked page}; unlinked kept, no call."""
    flow, seen = run_to_pages(config)
    code, exchange, debug, accounts = seen
    assert code.url.params["code"] == FB_CODE
    assert exchange.url.params["fb_exchange_token"] == SHORT_USER_TOKEN
    assert debug.url.params["input_token"] == LONG_USER_TOKEN
    assert_authenticated(debug, f"{META_APP_ID}|{META_APP_SECRET}")
    assert_authenticated(accounts, LONG_USER_TOKEN)
    page_request = flow.send(meta(200, accounts_body()))
    assert page_request.url.path == f"/v25.0/{PAGE_LINKED}"
    assert_authenticated(page_request, LONG_USER_TOKEN)
    result = finish(flow, meta(200, page_body()))

    token = result.user_token
    assert token.kind is TokenKind.FB_USER
    assert token.value.reveal() == LONG_USER_TOKEN
    assert token.user_id == USER_ID
    assert token.expires_at == NOW + timedelta(seconds=5183944)
    assert token.scopes == ("instagram_basic", "pages_show_list", "business_management")
    assert result.data_access_expires_at == datetime.fromtimestamp(1780000000, UTC)
    assert result.granted_scopes == token.scopes
    assert result.missing_scopes == ("instagram_content_publish",)

    linked, unlinked = result.pages
    assert (linked.page_id, linked.page_name) == (PAGE_LINKED, "Acme Shop")
    assert linked.instagram_account.user_id == IG_ID
    assert linked.instagram_account.username == IG_USERNAME
    assert linked.page_token.kind is TokenKind.FB_PAGE
    assert linked.page_token.expires_at is None
    assert linked.page_token.value.reveal() == PAGE_TOKEN_LINKED
    assert (unlinked.page_id, unlinked.page_name, unlinked.instagram_account) == (
        PAGE_UNLINKED,
        "Acme Agency",
        None,
    )
    assert unlinked.page_token.value.reveal() == PAGE_TOKEN_UNLINKED
    assert result.linked_pages == (linked,)
    assert result.unlinked_pages == (unlinked,)
    assert result.instagram_accounts == (linked.instagram_account,)
    assert result.hint is None


def test_no_pages_gives_a_hint_about_business_management(config) -> None:
    """An empty /me/accounts is a result with no Pages and a hint naming business_management."""
    flow, _ = run_to_pages(config, debug=debug_body(scopes=["instagram_basic", "pages_show_list"]))
    result = finish(flow, meta(200, {"data": []}))
    assert result.pages == ()
    assert "business_management" in result.hint
    assert result.user_token.value.reveal() == LONG_USER_TOKEN  # nothing lost: the token is still returned


def test_only_unlinked_pages_gives_a_hint_naming_them(config) -> None:
    """Pages without any linked Instagram account are listed, and the hint names them."""
    flow, _ = run_to_pages(config)
    result = finish(flow, meta(200, accounts_body(linked=False)))
    assert [p.page_id for p in result.unlinked_pages] == [PAGE_UNLINKED]
    assert "'Acme Agency'" in result.hint
    assert "linked Instagram" in result.hint


def test_state_is_checked_before_anything_is_sent(config) -> None:
    """A callback with the wrong state raises before the first request."""
    flow = flows.facebook_login(config, CALLBACK, now=NOW, expected_state="other")
    with pytest.raises(StateMismatchError):
        next(flow)


def test_an_invalid_new_token_is_reported(config) -> None:
    """If debug_token calls the fresh token invalid, the login fails with Meta's reason, redacted."""
    message = f"The access token could not be decrypted {LONG_USER_TOKEN}"
    debug = {"data": {"is_valid": False, "error": {"code": 190, "message": message}, "scopes": []}}
    flow = flows.facebook_login(config, CALLBACK, now=NOW)
    next(flow)
    flow.send(meta(200, token_body(SHORT_USER_TOKEN)))
    flow.send(meta(200, token_body(LONG_USER_TOKEN)))
    with pytest.raises(UnexpectedResponseError, match="could not be decrypted") as info:
        flow.send(meta(200, debug))
    assert LONG_USER_TOKEN not in str(info.value)


# ---------------------------------------------------------------- issue 20: declined permissions


def test_declined_required_permission_is_named_and_nothing_is_returned(config) -> None:
    """instagram_basic missing from debug_token: /me/permissions says declined, and the login fails
    with PermissionsDeclinedError naming it (an AuthorizationError), before any Page is read."""
    from igtoken import AuthorizationError, PermissionsDeclinedError

    flow, seen = run_to_pages(config, debug=debug_body(scopes=["pages_show_list", "business_management"]))
    permissions_request = seen[-1]
    assert permissions_request.url.path == "/v25.0/me/permissions"
    assert_authenticated(permissions_request, LONG_USER_TOKEN)
    body = {
        "data": [
            {"permission": "pages_show_list", "status": "granted"},
            {"permission": "instagram_basic", "status": "declined"},
        ]
    }
    with pytest.raises(PermissionsDeclinedError) as info:
        flow.send(meta(200, body))
    error = info.value
    assert isinstance(error, AuthorizationError)
    assert error.permissions == ("instagram_basic",) and error.declined == ("instagram_basic",)
    assert "declined instagram_basic" in error.message
    assert "auth_type=rerequest" in error.fix


def test_pages_show_list_10_on_accounts_names_the_permission(config) -> None:
    """A (#10) on /me/accounts (e.g. a configuration without pages_show_list) becomes a
    PermissionsDeclinedError for pages_show_list with the fix."""
    from igtoken import PermissionsDeclinedError

    from .fb_fakes import graph_error

    flow, seen = run_to_pages(config, requested=())
    assert seen[-1].url.path == "/v25.0/me/accounts"
    answer = graph_error(10, "(#10) This endpoint requires the 'pages_show_list' permission.")
    with pytest.raises(PermissionsDeclinedError) as info:
        flow.send(answer)
    assert info.value.permissions == ("pages_show_list",)
    assert "pages_show_list" in info.value.fix


def test_not_required_missing_scope_does_not_fail(config) -> None:
    """Only the required permissions stop a login; business_management missing gives a hint even
    though a Page came back."""
    flow, seen = run_to_pages(config, debug=debug_body(scopes=["instagram_basic", "pages_show_list"]))
    assert seen[-1].url.path == "/v25.0/me/accounts"
    flow.send(meta(200, accounts_body(unlinked=False)))
    result = finish(flow, meta(200, page_body()))
    assert result.linked_pages and result.hint is None
    assert "business_management" in result.business_management_hint
    assert result.instagram_accounts[0].account_type is None  # not guessed as BUSINESS


def test_development_mode_callback(config) -> None:
    """error_code=200 on the redirect is DevelopmentModeError (an AuthorizationDenied) with the fix."""
    from igtoken import AuthorizationDenied, DevelopmentModeError, parse_callback

    url = (
        f"{REDIRECT_URI}?error=access_denied&error_code=200&error_description=Permissions+error"
        "&error_reason=user_denied&state=st-1#_=_"
    )
    with pytest.raises(DevelopmentModeError) as info:
        parse_callback(url, expected_state="st-1")
    assert isinstance(info.value, AuthorizationDenied)
    assert "development mode" in info.value.message
    assert "App roles" in info.value.fix and "Live" in info.value.fix


def test_dialog_url_auth_type(config) -> None:
    """auth_type='rerequest' (or rerequest=True) is sent; unknown values are refused."""
    from urllib.parse import parse_qs, urlsplit

    from igtoken import ConfigurationError, facebook_authorization_url

    url = facebook_authorization_url(config.facebook, state="s", auth_type="rerequest")
    assert parse_qs(urlsplit(url).query)["auth_type"] == ["rerequest"]
    with pytest.raises(ConfigurationError):
        facebook_authorization_url(config.facebook, state="s", auth_type="again")


def test_pages_flow_alone_gives_the_pages_show_list_fix(config) -> None:
    """The bare pages() flow keeps PermissionDeniedError for (#10), with a fix naming pages_show_list."""
    from igtoken import PermissionDeniedError

    from .fb_fakes import graph_error

    flow = flows.pages(config, LONG_USER_TOKEN_SECRET, now=NOW)
    next(flow)
    with pytest.raises(PermissionDeniedError) as info:
        flow.send(graph_error(10, "(#10) This endpoint requires the 'pages_show_list' permission."))
    assert "pages_show_list" in info.value.fix and "rerequest" in info.value.fix
