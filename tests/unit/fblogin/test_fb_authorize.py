"""The Facebook Login dialog URL and the callback with Facebook's '#_=_'."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from igtoken import (
    ConfigurationError,
    Endpoints,
    ScopeError,
    StateMismatchError,
    facebook_authorization_url,
    parse_callback,
)
from igtoken.instagram.authorize import code_from

from .fb_fakes import FB_CODE, META_APP_ID, REDIRECT_URI, make_config


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_dialog_url_is_versioned_and_carries_the_meta_app(config) -> None:
    """www.facebook.com/v25.0/dialog/oauth with the Meta app id, redirect, state, code and comma scopes."""
    url = facebook_authorization_url(
        config.facebook, state="st-1", scopes=["instagram_basic", "pages_show_list"]
    )
    assert url.startswith("https://www.facebook.com/v25.0/dialog/oauth?")
    assert query(url) == {
        "client_id": [META_APP_ID],
        "redirect_uri": [REDIRECT_URI],
        "response_type": ["code"],
        "state": ["st-1"],
        "scope": ["instagram_basic,pages_show_list"],
    }
    assert "scope=instagram_basic,pages_show_list" in url


def test_graph_version_is_configurable() -> None:
    """The dialog follows Endpoints.graph_version, including on the emulator."""
    endpoints = Endpoints.emulator("http://127.0.0.1:9999", graph_version="v26.0")
    url = facebook_authorization_url(make_config().facebook, state="s", endpoints=endpoints)
    assert url.startswith("http://127.0.0.1:9999/www.facebook.com/v26.0/dialog/oauth?")
    assert query(url)["scope"] == [
        "instagram_basic,pages_show_list,pages_read_engagement,business_management"
    ]


def test_config_id_replaces_scope_and_rerequest_is_optional(config) -> None:
    """A Login for Business configuration is sent instead of scope; auth_type=rerequest when asked."""
    url = facebook_authorization_url(config.facebook, state="s", config_id="987654321", rerequest=True)
    params = query(url)
    assert params["config_id"] == ["987654321"]
    assert "scope" not in params
    assert params["auth_type"] == ["rerequest"]


def test_bad_inputs_are_refused(config) -> None:
    """Scope plus config_id, a non-numeric config_id, a bad state and an Instagram Login scope fail."""
    with pytest.raises(ConfigurationError, match="not both"):
        facebook_authorization_url(config.facebook, state="s", scopes="instagram_basic", config_id="1")
    with pytest.raises(ConfigurationError, match="numeric"):
        facebook_authorization_url(config.facebook, state="s", config_id="abc")
    with pytest.raises(ConfigurationError, match="state"):
        facebook_authorization_url(config.facebook, state="")
    with pytest.raises(ScopeError, match="Instagram Login"):
        facebook_authorization_url(config.facebook, state="s", scopes="instagram_business_basic")


def test_client_builds_the_same_url_from_the_facebook_app(config) -> None:
    """Client.facebook_authorization_url uses ClientConfig.facebook_app, not the Instagram app."""
    from igtoken import Client

    with Client(config) as client:
        url = client.facebook_authorization_url(state="s")
    assert query(url)["client_id"] == [META_APP_ID]


def test_without_facebook_app_the_main_app_is_used() -> None:
    """ClientConfig.facebook falls back to app when no separate Meta app is configured."""
    config = make_config(facebook=False)
    assert config.facebook is config.app
    assert query(facebook_authorization_url(config.facebook, state="s"))["client_id"] == [META_APP_ID]


def test_facebook_callback_fragment_is_stripped() -> None:
    """parse_callback drops '#_=_' from a full URL; a bare code with '#_=_' is accepted too."""
    callback = parse_callback(f"{REDIRECT_URI}?code={FB_CODE}&state=st-1#_=_", expected_state="st-1")
    assert callback.code.reveal() == FB_CODE
    assert code_from(f"{FB_CODE}#_=_").reveal() == FB_CODE
    with pytest.raises(StateMismatchError):
        parse_callback(f"{REDIRECT_URI}?code={FB_CODE}&state=other#_=_", expected_state="st-1")
