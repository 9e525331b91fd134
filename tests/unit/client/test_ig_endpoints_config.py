"""Endpoints (real hosts and emulator prefix form) and the validated client configuration."""

from __future__ import annotations

import pytest

from igtoken import AppCredentials, ClientConfig, ConfigurationError, Endpoints, Secret


def test_default_endpoints_are_metas_hosts() -> None:
    """By default every URL points at Meta's documented host and path."""
    ep = Endpoints()
    assert ep.authorize == "https://www.instagram.com/oauth/authorize"
    assert ep.code_exchange == "https://api.instagram.com/oauth/access_token"
    assert ep.long_lived_exchange == "https://graph.instagram.com/access_token"
    assert ep.refresh == "https://graph.instagram.com/refresh_access_token"
    assert ep.instagram_graph("me") == "https://graph.instagram.com/me"
    assert ep.facebook_graph("/oauth/access_token") == "https://graph.facebook.com/v25.0/oauth/access_token"
    assert ep.facebook_dialog == "https://www.facebook.com/v25.0/dialog/oauth"


def test_emulator_uses_one_port_with_a_path_prefix_per_host() -> None:
    """Endpoints.emulator maps each host to http://127.0.0.1:PORT/<host>/…."""
    ep = Endpoints.emulator("http://127.0.0.1:8765/", graph_version="v26.0", instagram_graph_version="v25.0")
    assert ep.authorize == "http://127.0.0.1:8765/www.instagram.com/oauth/authorize"
    assert ep.code_exchange == "http://127.0.0.1:8765/api.instagram.com/oauth/access_token"
    assert ep.refresh == "http://127.0.0.1:8765/graph.instagram.com/refresh_access_token"
    assert ep.instagram_graph("me") == "http://127.0.0.1:8765/graph.instagram.com/v25.0/me"
    assert ep.facebook_graph("me") == "http://127.0.0.1:8765/graph.facebook.com/v26.0/me"
    assert ep.facebook_dialog == "http://127.0.0.1:8765/www.facebook.com/v26.0/dialog/oauth"


@pytest.mark.parametrize("bad", ["127.0.0.1:80", "ftp://x", "http://x/?q=1", "http://x/#f", ""])
def test_bad_base_urls_are_refused(bad: str) -> None:
    """A base URL must be absolute http(s) without query or fragment."""
    with pytest.raises(ConfigurationError):
        Endpoints.emulator(bad)


def test_bad_graph_version_is_refused() -> None:
    """Graph versions look like v25.0."""
    with pytest.raises(ConfigurationError, match=r"v25\.0"):
        Endpoints(graph_version="25")


def test_credentials_are_checked() -> None:
    """App id digits, secret wrapped in Secret and non-empty, redirect URI absolute without fragment."""
    AppCredentials("123", Secret("x"), "http://127.0.0.1:5000/cb")
    with pytest.raises(ConfigurationError, match="digits"):
        AppCredentials("abc", Secret("x"), "https://a.example/cb")
    with pytest.raises(ConfigurationError, match="Secret") as caught:
        AppCredentials("123", "rawvalue42", "https://a.example/cb")  # type: ignore[arg-type]
    assert "rawvalue42" not in str(caught.value)
    with pytest.raises(ConfigurationError, match="empty"):
        AppCredentials("123", Secret(""), "https://a.example/cb")
    with pytest.raises(ConfigurationError, match="redirect URI"):
        AppCredentials("123", Secret("x"), "/cb")
    with pytest.raises(ConfigurationError, match="redirect URI"):
        AppCredentials("123", Secret("x"), "https://a.example/cb#frag")


def test_client_config_bounds() -> None:
    """Timeouts and retry bounds must make sense; repr never shows the secret."""
    app = AppCredentials("123", Secret("topsecretvalue"), "https://a.example/cb")
    assert "topsecretvalue" not in repr(ClientConfig(app))
    with pytest.raises(ConfigurationError):
        ClientConfig(app, timeout=0)
    with pytest.raises(ConfigurationError):
        ClientConfig(app, retry_attempts=0)
    with pytest.raises(ConfigurationError):
        ClientConfig(app, retry_max_wait=-1)
    with pytest.raises(ConfigurationError):
        ClientConfig("nope")  # type: ignore[arg-type]
