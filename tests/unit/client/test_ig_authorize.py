"""The authorize URL, state, and callback parsing (including hypothesis: only our own errors)."""

from __future__ import annotations

import contextlib
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from igtoken import (
    AppCredentials,
    AuthorizationDenied,
    CallbackError,
    ConfigurationError,
    Endpoints,
    IGTokenError,
    ScopeError,
    Secret,
    StateMismatchError,
    authorization_url,
    new_state,
    parse_callback,
    states_match,
)
from igtoken.instagram.authorize import code_from

from .ig_meta_fakes import APP_ID, REDIRECT_URI

APP = AppCredentials(APP_ID, Secret("secret"), REDIRECT_URI)


def test_authorize_url_has_metas_host_and_parameters() -> None:
    """www.instagram.com/oauth/authorize with client_id, exact redirect_uri, code, comma scopes, state."""
    url = authorization_url(
        APP, state="st-1", scopes=["instagram_business_basic", "instagram_business_content_publish"]
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.instagram.com", "/oauth/authorize")
    query = parse_qs(parts.query)
    assert query == {
        "client_id": [APP_ID],
        "redirect_uri": [REDIRECT_URI],
        "response_type": ["code"],
        "scope": ["instagram_business_basic,instagram_business_content_publish"],
        "state": ["st-1"],
    }
    assert "redirect_uri=https%3A%2F%2Fapp.example.com%2Fig%2Fcallback%2F" in parts.query
    assert "scope=instagram_business_basic,instagram_business_content_publish" in parts.query


def test_authorize_url_options_and_encoding() -> None:
    """force_reauth=true and enable_fb_login=0/1 are sent when asked; odd characters are percent-encoded."""
    app = AppCredentials(APP_ID, Secret("s"), "https://a.example/cb?x=1 2&y=ü")
    url = authorization_url(app, state="a b+c", force_reauth=True, enable_fb_login=False)
    query = parse_qs(urlsplit(url).query)
    assert query["force_reauth"] == ["true"]
    assert query["enable_fb_login"] == ["0"]
    assert query["redirect_uri"] == ["https://a.example/cb?x=1 2&y=ü"]
    assert query["state"] == ["a b+c"]
    assert " " not in url
    assert "enable_fb_login=1" in authorization_url(app, state="s", enable_fb_login=True)
    assert "force_reauth" not in authorization_url(app, state="s")


def test_authorize_url_on_the_emulator_and_bad_inputs() -> None:
    """The emulator form keeps the prefix; wrong scopes and empty states are refused before any URL."""
    url = authorization_url(APP, state="s", endpoints=Endpoints.emulator("http://127.0.0.1:9"))
    assert url.startswith("http://127.0.0.1:9/www.instagram.com/oauth/authorize?")
    with pytest.raises(ScopeError):
        authorization_url(APP, state="s", scopes="instagram_basic")
    with pytest.raises(ConfigurationError):
        authorization_url(APP, state="")


def test_new_state_is_long_random_and_url_safe() -> None:
    """States carry at least 128 bits and never repeat."""
    states = {new_state() for _ in range(200)}
    assert len(states) == 200
    for state in states:
        assert len(state) >= 22  # 22 base64 characters hold 128 bits
        assert state.replace("-", "").replace("_", "").isalnum()


def test_states_match() -> None:
    """Equal states match; different, missing or empty ones do not."""
    assert states_match("abc", "abc")
    assert not states_match("abc", "abd")
    assert not states_match("abc", None)
    assert not states_match("", "")
    assert not states_match("abc", "\ud800")


@pytest.mark.parametrize(
    "callback",
    [
        "https://app.example.com/ig/callback/?code=AQBx-hBsH3&state=st#_",
        "https://app.example.com/ig/callback/?code=AQBx-hBsH3&state=st",
        "/ig/callback/?code=AQBx-hBsH3&state=st#_",
        "?code=AQBx-hBsH3&state=st",
        "code=AQBx-hBsH3&state=st",
        "state=st&code=AQBx-hBsH3%23_",
        "state=st&code=AQBx-hBsH3#_=_",
        "  https://app.example.com/cb?state=st&code=AQBx-hBsH3#_  ",
    ],
)
def test_callback_code_is_read_and_meta_suffix_stripped(callback: str) -> None:
    """Full URLs, paths and bare queries all give the code without '#_' or '#_=_'."""
    result = parse_callback(callback, expected_state="st")
    assert result.code.reveal() == "AQBx-hBsH3"
    assert result.state == "st"
    assert "AQBx" not in repr(result)


def test_callback_denial() -> None:
    """error=access_denied raises AuthorizationDenied with error, reason and description."""
    url = (
        "https://app.example.com/cb/?error=access_denied&error_reason=user_denied"
        "&error_description=The+user+denied+your+request"
    )
    with pytest.raises(AuthorizationDenied) as caught:
        parse_callback(url, expected_state="st")
    assert (
        caught.value.error,
        caught.value.reason,
        caught.value.description,
    ) == ("access_denied", "user_denied", "The user denied your request")
    assert "The user denied your request" in str(caught.value)
    with pytest.raises(StateMismatchError):
        parse_callback(url + "&state=forged", expected_state="st")


@pytest.mark.parametrize(
    ("callback", "error"),
    [
        ("https://app.example.com/cb/", CallbackError),
        ("https://app.example.com/cb/?state=st", CallbackError),
        ("code=", CallbackError),
        ("code=%20", CallbackError),
        ("code=a b", CallbackError),
        ("code=abc&code=def", CallbackError),
        ("http://[::1/cb?code=x", CallbackError),
        ("code=" + "a" * 3000, CallbackError),
        ("x" * 20000, CallbackError),
        ("code=abc&state=other", StateMismatchError),
        ("code=abc", StateMismatchError),
    ],
)
def test_malformed_or_forged_callbacks(callback: str, error: type[Exception]) -> None:
    """Missing or duplicated codes and bad URLs are CallbackError; a wrong or absent state is a mismatch."""
    with pytest.raises(error):
        parse_callback(callback, expected_state="st")


def test_code_from_accepts_bare_codes() -> None:
    """A bare code (as a person pastes it) works, '#_' stripped; a URL is parsed."""
    assert code_from("AQBx#_").reveal() == "AQBx"
    assert code_from(Secret("AQBx")).reveal() == "AQBx"
    assert code_from("https://a.example/cb?code=AQBx&state=s", expected_state="s").reveal() == "AQBx"
    with pytest.raises(StateMismatchError):
        code_from("AQBx", expected_state="s")
    with pytest.raises(CallbackError):
        code_from("bad code")
    with pytest.raises(CallbackError):
        parse_callback(42)  # type: ignore[arg-type]


@settings(deadline=None)
@given(st.text(max_size=300), st.one_of(st.none(), st.text(max_size=20)))
def test_callback_parsing_raises_only_igtoken_errors(text: str, expected: str | None) -> None:
    """Arbitrary input either parses or raises one of igtoken's own exceptions."""
    try:
        result = parse_callback(text, expected_state=expected)
    except IGTokenError:
        return
    assert result.code.reveal()


@settings(deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["code", "state", "error", "error_reason", "error_description", "x"]),
            st.text(max_size=30),
        ),
        max_size=6,
    )
)
def test_callback_query_shapes_raise_only_igtoken_errors(pairs: list[tuple[str, str]]) -> None:
    """Random combinations of the callback's own fields never escape igtoken's exception tree."""
    from urllib.parse import urlencode

    with contextlib.suppress(IGTokenError):
        parse_callback("https://a.example/cb?" + urlencode(pairs), expected_state="st")
