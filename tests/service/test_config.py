"""ServiceConfig: what a valid configuration looks like, and the sandbox start-up notice."""

from __future__ import annotations

import pytest

from igtoken.core.exceptions import ConfigurationError
from igtoken.core.secret import Secret
from igtoken.service import RateLimit, ServiceConfig, ServiceDeps, create_app

from .conftest import client_for, csrf_from

PASSWORD = Secret("a-long-enough-password")


def test_plain_http_public_url_is_refused_outside_sandbox_and_dev():
    """A non-HTTPS public URL without sandbox or dev mode is a ConfigurationError naming the fix."""
    with pytest.raises(ConfigurationError) as caught:
        ServiceConfig(public_url="http://tokens.example.com", admin_password=PASSWORD)
    assert "non-HTTPS" in caught.value.message
    assert "https://" in caught.value.fix and "development" in caught.value.fix


@pytest.mark.parametrize("flags", [{"dev": True}, {"sandbox": True}])
def test_plain_http_is_allowed_when_told_it_is_development_or_sandbox(flags):
    """dev or sandbox mode accepts an http:// public URL, and cookies are then not Secure."""
    config = ServiceConfig(public_url="http://127.0.0.1:8000", admin_password=PASSWORD, **flags)
    assert config.https is False


def test_https_public_url_is_accepted():
    """An https:// public URL needs no flag and turns on Secure cookies."""
    assert ServiceConfig(public_url="https://tokens.example.com", admin_password=PASSWORD).https is True


@pytest.mark.parametrize(
    "url", ["tokens.example.com", "/relative", "ftp://x.example", "https://x.example/?a=1"]
)
def test_malformed_public_urls_are_refused(url):
    """The public URL must be an absolute http(s) URL without query or fragment."""
    with pytest.raises(ConfigurationError):
        ServiceConfig(public_url=url, admin_password=PASSWORD)


def test_admin_password_is_required_outside_sandbox():
    """Without sandbox mode nobody could sign in, so a missing admin password is refused."""
    with pytest.raises(ConfigurationError, match="admin password"):
        ServiceConfig(public_url="https://tokens.example.com")


def test_short_admin_password_and_session_secret_are_refused():
    """A guessable admin password or a short session secret is refused."""
    with pytest.raises(ConfigurationError, match="shorter than 12"):
        ServiceConfig(public_url="https://t.example", admin_password=Secret("short"))
    with pytest.raises(ConfigurationError, match="session secret"):
        ServiceConfig(
            public_url="https://t.example", admin_password=PASSWORD, session_secret=Secret("x" * 10)
        )


def test_rate_limits_must_be_positive():
    """A zero rate or an empty burst is a configuration error."""
    with pytest.raises(ConfigurationError):
        RateLimit(per_minute=0, burst=1)
    with pytest.raises(ConfigurationError):
        RateLimit(per_minute=5, burst=0)


def test_config_repr_masks_secrets():
    """Printing the configuration never shows the admin password or the app secrets."""
    config = ServiceConfig(
        public_url="https://t.example",
        admin_password=PASSWORD,
        meta_app_secrets={"app1": Secret("meta-app-secret-value")},
    )
    text = repr(config)
    assert "a-long-enough-password" not in text
    assert "meta-app-secret-value" not in text


async def test_sandbox_generates_an_admin_password_and_announces_it_at_start_up():
    """In sandbox mode a password is generated, printed once at start-up, and signs in."""
    notices: list[str] = []
    app = create_app(
        ServiceConfig(public_url="http://127.0.0.1:9", sandbox=True),
        deps=ServiceDeps(announce=notices.append),
    )
    async with app.router.lifespan_context(app):
        assert len(notices) == 1
        password = notices[0].rsplit(" ", 1)[1]
        assert len(password) >= 20
        async with client_for(app, base_url="http://127.0.0.1:9") as client:
            token = csrf_from((await client.get("/signin")).text)
            response = await client.post("/signin", data={"password": password, "csrf_token": token})
            assert response.status_code == 303


async def test_configured_password_is_not_announced():
    """A configured admin password is never printed."""
    notices: list[str] = []
    app = create_app(
        ServiceConfig(public_url="http://127.0.0.1:9", sandbox=True, admin_password=PASSWORD),
        deps=ServiceDeps(announce=notices.append),
    )
    async with app.router.lifespan_context(app):
        pass
    assert notices == []
