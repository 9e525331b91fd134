"""Every Facebook Login error from the fact sheet, raised by the flow that meets it, with a fitting fix."""

from __future__ import annotations

from datetime import timedelta

import pytest

from igtoken import (
    AccessToken,
    InvalidGrantError,
    InvalidRequestError,
    NeedsReauthorizationError,
    PermissionDeniedError,
    Secret,
    TokenKind,
    TransientError,
    facebook_error,
)
from igtoken.facebook import flows as flows

from .fb_fakes import (
    ALL_SECRETS,
    FB_CODE,
    LONG_USER_TOKEN,
    NOW,
    PAGE_LINKED,
    SHORT_USER_TOKEN,
    USER_ID,
    graph_error,
)

USER = AccessToken(Secret(LONG_USER_TOKEN), TokenKind.FB_USER, NOW, NOW + timedelta(days=60), USER_ID)


def flows_by_name(config):
    return {
        "code": lambda: flows.exchange_facebook_code(config, FB_CODE, now=NOW),
        "long": lambda: flows.exchange_facebook_long_lived(config, Secret(SHORT_USER_TOKEN), now=NOW),
        "me": lambda: flows.facebook_me(config, USER),
        "accounts": lambda: flows.pages(config, USER, now=NOW),
        "page": lambda: flows.page_instagram_account(config, USER, PAGE_LINKED, now=NOW),
        "debug": lambda: flows.debug_token(config, USER),
        "app": lambda: flows.facebook_app_token(config),
    }


CASES = [
    # (flow, code, subcode, message, exception, words in fix)
    (
        "code",
        101,
        None,
        "Error validating application. Invalid application ID.",
        InvalidRequestError,
        "Meta app id",
    ),
    ("app", 101, None, "Missing client_id parameter.", InvalidRequestError, "query parameters"),
    ("code", 1, None, "Error validating client secret.", InvalidRequestError, "Meta app id and secret"),
    ("long", 1, None, "Error validating client secret.", InvalidRequestError, "App settings > Basic"),
    ("code", 100, None, "Invalid verification code format.", InvalidGrantError, "exactly as it was received"),
    ("code", 100, 36009, "This authorization code has been used.", InvalidGrantError, "handled twice"),
    ("code", 100, None, "This authorization code has expired.", InvalidGrantError, "start the login again"),
    (
        "code",
        100,
        None,
        "Error validating verification code. Please make sure your redirect_uri is identical to the one you "
        "used in the OAuth dialog request",
        InvalidGrantError,
        "Facebook dialog URL",
    ),
    (
        "long",
        190,
        463,
        "Error validating access token: Session has expired on Friday, 11-Sep-20 06:41:31 PDT.",
        NeedsReauthorizationError,
        "expired",
    ),
    (
        "accounts",
        190,
        460,
        "Error validating access token: The session has been invalidated because the user changed their "
        "password or Facebook has changed the session for security reasons.",
        NeedsReauthorizationError,
        "password changed",
    ),
    (
        "page",
        190,
        492,
        "Error validating access token: invalid session",
        NeedsReauthorizationError,
        "role on the Page",
    ),
    (
        "me",
        190,
        493,
        "The access token is invalid since the user hasn't engaged the app in longer than 90 days.",
        NeedsReauthorizationError,
        "90 days",
    ),
    (
        "accounts",
        10,
        None,
        "(#10) This endpoint requires the 'pages_show_list' permission.",
        PermissionDeniedError,
        "permission",
    ),
    (
        "me",
        100,
        None,
        "Invalid appsecret_proof provided in the API argument",
        InvalidRequestError,
        "facebook_app",
    ),
    (
        "page",
        100,
        None,
        "API calls from the server require an appsecret_proof argument",
        InvalidRequestError,
        "Require App Secret",
    ),
    (
        "debug",
        100,
        None,
        "(#100) You must provide an app access token, or a user access token that is an owner or developer "
        "of the app",
        InvalidRequestError,
        "",
    ),
    (
        "me",
        190,
        None,
        "Invalid OAuth access token - Cannot parse access token",
        NeedsReauthorizationError,
        "EAA",
    ),
    (
        "accounts",
        2,
        None,
        "An unexpected error has occurred. Please retry your request later.",
        TransientError,
        "",
    ),
]


@pytest.mark.parametrize(("flow_name", "code", "subcode", "message", "cls", "fix"), CASES)
@pytest.mark.parametrize("status", [400, 401, 403])
def test_error_is_classified_by_code_with_a_facebook_fix(
    config, flow_name, code, subcode, message, cls, fix, status
) -> None:
    """Class by code/subcode whatever the status; wire fields kept; a Facebook fix; no secrets."""
    flow = flows_by_name(config)[flow_name]()
    next(flow)
    with pytest.raises(cls) as info:
        flow.send(graph_error(code, message, subcode=subcode, status=status))
    error = info.value
    assert type(error) is cls
    assert (error.code, error.error_subcode, error.status_code) == (code, subcode, status)
    assert error.fbtrace_id == "AbC1"
    assert fix in error.fix
    assert "Instagram app secret" not in error.fix
    text = f"{error} {error!r} {error.args}"
    for secret in ALL_SECRETS:
        assert secret not in text


def test_reused_code_answer_with_www_authenticate_header(config) -> None:
    """The 36009 answer with its WWW-Authenticate header is an InvalidGrantError, not retryable."""
    flow = flows.exchange_facebook_code(config, FB_CODE, now=NOW)
    next(flow)
    header = 'OAuth "Facebook Platform" "invalid_code" "This authorization code has been used."'
    response = graph_error(
        100, "This authorization code has been used.", subcode=36009, headers={"www-authenticate": header}
    )
    with pytest.raises(InvalidGrantError) as info:
        flow.send(response)
    assert not info.value.retryable


def test_bad_secret_is_not_retried(config) -> None:
    """Code 1 is transient in general, but 'Error validating client secret' is a configuration error."""
    error = facebook_error(graph_error(1, "Error validating client secret."))
    assert isinstance(error, InvalidRequestError)
    assert not error.retryable
    assert "Meta app" in error.fix


def test_facebook_error_is_none_for_success() -> None:
    """A plain success is not an error."""
    from .fb_fakes import meta

    assert facebook_error(meta(200, {"id": "1"})) is None
