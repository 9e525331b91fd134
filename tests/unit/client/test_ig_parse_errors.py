# ruff: noqa: E501  (the case tables quote Meta's messages verbatim)
"""Both of Meta's error formats, classified by code, subcode and message — never by HTTP status."""

from __future__ import annotations

import contextlib
import json

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from igtoken import (
    APIError,
    IGTokenError,
    InvalidGrantError,
    InvalidRequestError,
    NeedsReauthorizationError,
    PermissionDeniedError,
    ThrottledError,
    TransientError,
    UnexpectedResponseError,
    Usage,
    error_from_response,
)
from igtoken.instagram.parse import (
    json_object,
    parse_code_exchange,
    parse_long_lived,
    parse_media_page,
    parse_profile,
)

from .ig_meta_fakes import NOW, graph_error, meta, oauth_error

TOKEN = "IGAAsomeLiveTokenValue1234567890"
REQUEST = httpx.Request(
    "GET",
    f"https://graph.instagram.com/refresh_access_token?grant_type=ig_refresh_token&access_token={TOKEN}",
)


def error_for(status_body, *, headers=None, request=REQUEST):
    status, body = status_body
    error = error_from_response(meta(status, body, headers=headers, request=request), secrets=[TOKEN])
    assert error is not None
    return error


GRAPH_CASES = [
    # (code, subcode, message, expected class, status)
    (
        190,
        460,
        "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.",
        NeedsReauthorizationError,
        400,
    ),
    (
        190,
        463,
        "Error validating access token: Session has expired on Friday, 11-Sep-20 06:41:31 PDT. The current time is Wednesday, 18-Nov-20 06:50:07 PST.",
        NeedsReauthorizationError,
        400,
    ),
    (
        190,
        458,
        "Error validating access token: The user has not authorized application.",
        NeedsReauthorizationError,
        400,
    ),
    (190, 459, "Error validating access token: checkpointed", NeedsReauthorizationError, 400),
    (190, 464, "Error validating access token: unconfirmed", NeedsReauthorizationError, 400),
    (190, 467, "Error validating access token: The user is not logged in.", NeedsReauthorizationError, 401),
    (190, 492, "Error validating access token: invalid session", NeedsReauthorizationError, 400),
    (
        190,
        493,
        "The access token is invalid since the user hasn't engaged the app in longer than 90 days.",
        NeedsReauthorizationError,
        400,
    ),
    (190, None, "Invalid OAuth access token - Cannot parse access token", NeedsReauthorizationError, 401),
    (102, None, "API Session", NeedsReauthorizationError, 400),
    (
        3,
        None,
        "(#3) Application does not have the capability to make this API call.",
        PermissionDeniedError,
        400,
    ),
    (10, None, "(#10) Application does not have permission for this action", PermissionDeniedError, 403),
    (200, None, "(#200) Must have a valid access_token to access this endpoint", PermissionDeniedError, 403),
    (299, None, "(#299) permission", PermissionDeniedError, 400),
    (4, None, "(#4) Application request limit reached", ThrottledError, 403),
    (17, None, "(#17) User request limit reached", ThrottledError, 400),
    (32, None, "(#32) Page request limit reached", ThrottledError, 400),
    (341, None, "(#341) Application limit reached", ThrottledError, 400),
    (613, 1996, "(#613) Calls to this api have exceeded the rate limit.", ThrottledError, 400),
    (
        80001,
        None,
        "(#80001) There have been too many calls to this Page account. Wait a bit and try again.",
        ThrottledError,
        400,
    ),
    (
        80002,
        None,
        "(#80002) There have been too many calls to this Instagram account. Wait a bit and try again.",
        ThrottledError,
        429,
    ),
    (80014, None, "(#80014) too many calls", ThrottledError, 400),
    (1, None, "An unknown error has occurred.", TransientError, 500),
    (2, None, "An unexpected error has occurred. Please retry your request later.", TransientError, 503),
    (100, 33, "Unsupported get request. Object with ID 'x' does not exist", InvalidRequestError, 400),
    (
        100,
        None,
        "(#100) Tried accessing nonexisting field (foo) on node type (User)",
        InvalidRequestError,
        400,
    ),
    (100, None, "Unsupported grant_type", InvalidRequestError, 400),
    (
        2500,
        None,
        "An active access token must be used to query information about the current user.",
        InvalidRequestError,
        400,
    ),
    (100, None, "Invalid verification code format.", InvalidGrantError, 400),
    (100, 36009, "This authorization code has been used.", InvalidGrantError, 400),
    (100, None, "This authorization code has expired.", InvalidGrantError, 400),
    (
        100,
        None,
        "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
        InvalidGrantError,
        400,
    ),
    (100, None, "Error validating client secret.", InvalidRequestError, 400),
    (1, None, "Error validating client secret.", InvalidRequestError, 400),
    (101, None, "Error validating application. Invalid application ID.", InvalidRequestError, 400),
    (101, None, "Missing client_id parameter.", InvalidRequestError, 400),
    (
        191,
        None,
        "Invalid redirect_uri: Given URL is not allowed by the Application configuration.",
        InvalidRequestError,
        400,
    ),
    (368, None, "The action attempted has been deemed abusive or is otherwise disallowed", APIError, 400),
    (506, None, "Duplicate status message", APIError, 400),
]


@pytest.mark.parametrize(("code", "subcode", "message", "cls", "status"), GRAPH_CASES)
def test_graph_errors_are_classified_by_code_subcode_and_message(code, subcode, message, cls, status) -> None:
    """Every Graph error in the fact sheet maps to its class, with wire fields kept as attributes."""
    error = error_for(graph_error(code, message, subcode=subcode, status=status))
    assert cls is type(error)
    assert isinstance(error, APIError)
    assert (status, code, subcode, "OAuthException", "AbCdEf12345") == (
        error.status_code,
        error.code,
        error.error_subcode,
        error.error_type,
        error.fbtrace_id,
    )
    assert message.split(" ")[0] in error.message
    label = f"code {code}/{subcode}" if subcode is not None else f"code {code}"
    assert label in error.message
    assert TOKEN not in str(error)
    assert "access_token=[redacted]" in error.message


def test_status_never_decides_when_a_code_is_present() -> None:
    """The same 190 is NeedsReauthorization at 400, 401, 403 and 500; the same 4 is throttling at 200 and 403."""
    for status in (400, 401, 403, 500):
        assert isinstance(
            error_for(graph_error(190, "x", subcode=463, status=status)), NeedsReauthorizationError
        )
    assert isinstance(error_for(graph_error(4, "limit", status=200)), ThrottledError)


def test_reauthorization_fixes_depend_on_subcode() -> None:
    """Each 190 subcode says what happened; 'Cannot parse' points at the token/host mix-up."""
    assert "password" in error_for(graph_error(190, "x", subcode=460)).fix
    assert "expired" in error_for(graph_error(190, "x", subcode=463)).fix
    assert "90 days" in error_for(graph_error(190, "x", subcode=493)).fix
    wrong_host = error_for(graph_error(190, "Invalid OAuth access token - Cannot parse access token"))
    assert "graph.instagram.com" in wrong_host.fix and "graph.facebook.com" in wrong_host.fix


def test_throttle_retry_after_from_body_or_usage_header() -> None:
    """retry_after comes from estimated_time_to_regain_access (minutes → seconds), body first, then headers."""
    buc = json.dumps(
        {"1784": [{"type": "instagram", "call_count": 100, "estimated_time_to_regain_access": 19}]}
    )
    error = error_for(
        graph_error(80002, "(#80002) too many calls"), headers={"x-business-use-case-usage": buc}
    )
    assert isinstance(error, ThrottledError)
    assert error.retry_after == 19 * 60
    assert isinstance(error.usage, Usage) and error.usage.max_percent == 100
    in_body = error_for(graph_error(4, "limit", error_data={"estimated_time_to_regain_access": 2}))
    assert isinstance(in_body, ThrottledError) and in_body.retry_after == 120
    bare = error_for(graph_error(17, "limit"))
    assert isinstance(bare, ThrottledError) and bare.retry_after is None


def test_usage_is_attached_to_every_error() -> None:
    """Any error carries the usage headers of its response."""
    error = error_for(graph_error(100, "bad"), headers={"x-app-usage": '{"call_count":80}'})
    assert isinstance(error, APIError)
    assert Usage(app_call_count=80) == error.usage


def test_unknown_codes_and_is_transient() -> None:
    """Unknown codes are plain APIError, transient when Meta says is_transient or answers 5xx."""
    assert APIError is type(error_for(graph_error(12345, "new")))
    assert TransientError is type(error_for(graph_error(12345, "new", is_transient=True)))
    assert TransientError is type(error_for((502, {"error": {"message": "oops"}})))


OAUTH_CASES = [
    ("Matching code was not found or was already used", InvalidGrantError, "single use"),
    ("Matching code was not found or was already used.", InvalidGrantError, "single use"),
    ("This authorization code has been used", InvalidGrantError, "twice"),
    ("Invalid authorization code", InvalidGrantError, "#_"),
    ("This authorization code has expired", InvalidGrantError, "one hour"),
    (
        "Error validating verification code. Please make sure your redirect_uri is identical to the one you "
        "used in the OAuth dialog request.",
        InvalidGrantError,
        "redirect_uri",
    ),
    ("Invalid platform app", InvalidRequestError, "not the Facebook app id"),
    ("Invalid redirect_uri", InvalidRequestError, "OAuth redirect URIs"),
    ("Insufficient developer role", InvalidRequestError, "Instagram tester"),
    ("Invalid scope field(s): basic", InvalidRequestError, "instagram_business_"),
    ("Invalid scope: [user_profile]", InvalidRequestError, "instagram_business_"),
    ("Redirect URI does not match registered redirect URI", InvalidRequestError, "OAuth redirect URIs"),
    ("Missing required field client_id", InvalidRequestError, "form-encoded"),
    ('Only response type "code" and "token" is allowed', InvalidRequestError, "code"),
    ("Invalid grant_type", InvalidRequestError, "grant_type"),
    ("Something new Meta says", InvalidRequestError, ""),
]


@pytest.mark.parametrize(("message", "cls", "fix"), OAUTH_CASES)
def test_oauth_host_messages_map_to_cause_and_fix(message: str, cls: type[APIError], fix: str) -> None:
    """Each observed api.instagram.com message maps to its class and a fix that says what to do."""
    request = httpx.Request("POST", "https://api.instagram.com/oauth/access_token")
    error = error_for(oauth_error(message), request=request)
    assert cls is type(error)
    assert isinstance(error, APIError)
    assert (error.status_code, error.code, error.error_type) == (400, 400, "OAuthException")
    assert fix in error.fix
    assert message.rstrip(".") in error.message
    assert "POST https://api.instagram.com/oauth/access_token" in error.message


def test_verification_code_fix_names_redirect_uri_and_secret() -> None:
    """Meta's redirect_uri message also means a wrong secret; the fix says both."""
    error = error_for(
        oauth_error("Error validating verification code. Please make sure your redirect_uri is…")
    )
    assert "redirect_uri" in error.fix and "app secret" in error.fix


def test_platform_app_and_developer_role_fixes() -> None:
    """'Invalid platform app' points at the Instagram app id; 'Insufficient developer role' at testers."""
    platform = error_for(oauth_error("Invalid platform app"))
    assert "Instagram app id" in platform.fix and "API setup with Instagram login" in platform.fix
    role = error_for(oauth_error("Insufficient developer role"))
    assert "Instagram tester" in role.fix and "accept the invite" in role.fix


def test_oauth_host_5xx_code_is_transient_and_plain_oauth2_errors() -> None:
    """An OAuth-style body with a 5xx code is transient; RFC 6749 {error, error_description} is understood."""
    assert TransientError is type(error_for((500, {"error_type": "X", "code": 500, "error_message": "boom"})))
    oauth2 = error_for(
        (400, {"error": "invalid_request", "error_description": "Missing client_id parameter."})
    )
    assert InvalidRequestError is type(oauth2)
    assert "Missing client_id" in oauth2.message
    assert TransientError is type(error_for((503, {"error": "server_error"})))


def test_non_json_error_bodies_are_clear() -> None:
    """HTML and empty error bodies get a message naming status and content type; 5xx is transient."""
    html = httpx.Response(
        404,
        text="<html>Sorry, this page isn't available.</html>",
        headers={"content-type": "text/html"},
        request=httpx.Request("GET", "https://api.instagram.com/oauth/authorize?code=secretcode1234"),
    )
    error = error_from_response(html)
    assert APIError is type(error)
    assert "HTTP 404" in str(error) and "text/html" in str(error) and "isn't available" in str(error)
    assert "secretcode1234" not in str(error)
    assert TransientError is type(error_from_response(httpx.Response(502, text="Bad Gateway")))
    assert "empty body" in str(error_from_response(httpx.Response(500)))
    assert ThrottledError is type(error_from_response(httpx.Response(429)))


def test_successes_are_not_errors_and_bad_success_bodies_are_unexpected() -> None:
    """2xx without an error member is no error; a 2xx body that is not a JSON object is UnexpectedResponseError."""
    assert error_from_response(meta(200, {"access_token": "x"})) is None
    assert error_from_response(meta(200, {"error": None})) is None
    with pytest.raises(UnexpectedResponseError, match="non-JSON"):
        json_object(httpx.Response(200, text="<html>"), "the thing")
    with pytest.raises(UnexpectedResponseError, match="JSON list"):
        json_object(meta(200, [1]), "the thing")
    with pytest.raises(APIError):
        json_object(meta(200, {"error": {"message": "hidden in a 200", "code": 12}}), "the thing")


def test_messages_scrub_tokens_meta_echoes() -> None:
    """A token Meta echoes in its message ('Malformed access token …') is redacted by value and by shape."""
    error = error_for(graph_error(190, f"Malformed access token {TOKEN}"))
    assert TOKEN not in str(error) and TOKEN not in repr(error)
    other = error_for(graph_error(190, "Malformed access token EAABsomeFacebookToken1234567890"))
    assert "EAABsomeFacebookToken" not in str(other)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=12), kids, max_size=4),
    max_leaves=12,
)
error_like = st.fixed_dictionaries(
    {},
    optional={
        "error": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {},
                optional={
                    "message": json_values,
                    "code": json_values,
                    "error_subcode": json_values,
                    "type": json_values,
                    "fbtrace_id": json_values,
                    "is_transient": json_values,
                    "error_data": json_values,
                },
            ),
        ),
        "error_message": json_values,
        "error_type": json_values,
        "code": json_values,
        "error_description": json_values,
    },
)
headers = st.dictionaries(
    st.sampled_from(["x-app-usage", "x-business-use-case-usage", "content-type"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
)


@settings(deadline=None)
@given(st.integers(100, 599), st.one_of(json_values, error_like), headers)
def test_error_parsing_never_raises(status: int, body: object, extra: dict[str, str]) -> None:
    """Any status, JSON body and headers give None or an igtoken exception, never a crash."""
    response = httpx.Response(status, content=json.dumps(body).encode(), headers=extra)
    result = error_from_response(response)
    assert result is None or isinstance(result, IGTokenError)
    str(result)


@settings(deadline=None)
@given(st.integers(100, 599), st.binary(max_size=200))
def test_error_parsing_of_raw_bytes_never_raises(status: int, body: bytes) -> None:
    """Arbitrary bytes as a body never crash the parser."""
    result = error_from_response(httpx.Response(status, content=body))
    assert result is None or isinstance(result, IGTokenError)


@settings(deadline=None)
@given(
    st.integers(100, 599),
    st.one_of(
        json_values,
        error_like,
        st.builds(
            dict,
            access_token=json_values,
            user_id=json_values,
            permissions=json_values,
            expires_in=json_values,
            username=json_values,
            data=json_values,
            paging=json_values,
        ),
    ),
)
def test_body_parsers_raise_only_igtoken_errors(status: int, body: object) -> None:
    """Every success-body parser either returns a value or raises one of igtoken's exceptions."""
    response = httpx.Response(status, content=json.dumps(body).encode())
    for parse in (
        lambda: parse_code_exchange(response, now=NOW, requested_scopes=("instagram_business_basic",)),
        lambda: parse_long_lived(response, now=NOW),
        lambda: parse_profile(response),
        lambda: parse_media_page(response),
    ):
        with contextlib.suppress(IGTokenError):
            parse()
