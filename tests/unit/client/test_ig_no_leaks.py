"""No token, code or app secret in any exception message, repr, or log record — across full runs."""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
import pytest

from igtoken import (
    AccessToken,
    AppCredentials,
    Client,
    ClientConfig,
    Endpoints,
    IGTokenError,
    Secret,
    TokenKind,
)

from .ig_fake_meta import FakeMeta, _graph_error, _json, serve
from .ig_meta_fakes import (
    APP_SECRET,
    CODE,
    LONG_TOKEN,
    NOW,
    REDIRECT_URI,
    REFRESHED_TOKEN,
    SHORT_TOKEN,
    make_config,
)

SECRETS = (APP_SECRET, CODE, SHORT_TOKEN, LONG_TOKEN, REFRESHED_TOKEN)


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def exception_texts(first: BaseException) -> list[str]:
    """Everything a traceback or a log formatter could show of an exception chain."""
    texts: list[str] = []
    exc: BaseException | None = first
    while exc is not None:
        texts += [str(exc), repr(exc), *(str(a) for a in exc.args)]
        texts += [str(getattr(exc, name, "")) for name in ("message", "fix")]
        exc = exc.__cause__ or exc.__context__
    return texts


def capture(call) -> IGTokenError:
    with pytest.raises(IGTokenError) as caught:
        call()
    return caught.value


def test_no_secret_in_exceptions_reprs_or_logs(caplog) -> None:
    """A full login and refresh, then every failure path: nothing sensitive in messages, reprs or logs."""
    caplog.set_level(logging.DEBUG)
    fake = FakeMeta()
    errors: list[IGTokenError] = []
    with serve(fake) as base:
        config = make_config(endpoints=Endpoints.emulator(base))
        with Client(config) as client:
            result = client.login(f"{REDIRECT_URI}?code={CODE}&state=s#_", expected_state="s", now=NOW)
            refreshed = client.refresh(result.token, now=NOW + timedelta(days=3))
            shown = [
                repr(result),
                str(result),
                repr(refreshed),
                repr(config),
                repr(client),
                repr(client.last_usage),
            ]
            shown.append(repr(client.parse_callback(f"?code={CODE}")))

            # Meta echoes the token in its message.
            dead = AccessToken(Secret(LONG_TOKEN + "x"), TokenKind.IG_LONG, NOW, NOW + timedelta(days=60))
            errors.append(capture(lambda: client.refresh(dead, now=NOW + timedelta(days=2))))
            # Wrong secret on the exchange whose URL carries token and secret.
            fake.fail("/access_token", _graph_error(100, f"Error validating client secret {APP_SECRET}."))
            errors.append(capture(lambda: client.login(CODE, now=NOW)))
            # The code exchange rejects; its body carried the code and the secret.
            fake.fail(
                "/oauth/access_token",
                _json(
                    400,
                    {
                        "error_type": "OAuthException",
                        "code": 400,
                        "error_message": f"Invalid authorization code {CODE}",
                    },
                ),
            )
            errors.append(capture(lambda: client.exchange_code(CODE, now=NOW)))
            # HTML 404 and 5xx with the request URL holding secrets.
            fake.fail("/access_token", *[httpx.Response(503, text=f"down {SHORT_TOKEN}")] * 5)
            errors.append(capture(lambda: client.login(CODE, now=NOW)))
            fake.fail("/me", _graph_error(190, "expired", 463))
            errors.append(capture(lambda: client.profile(refreshed)))
            # Local refusals.
            errors.append(capture(lambda: client.refresh(refreshed, now=NOW + timedelta(days=3, hours=1))))
            errors.append(capture(lambda: client.parse_callback("?error=access_denied&error_description=no")))

    # Transport failures and timeouts on a URL that carries the token and the secret.
    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}")

    with Client(make_config(), transport=httpx.MockTransport(broken)) as client:
        errors.append(capture(lambda: client.login(CODE, now=NOW)))
        short = AccessToken(Secret(SHORT_TOKEN), TokenKind.IG_SHORT, NOW, NOW + timedelta(hours=1))
        errors.append(capture(lambda: client.exchange_long_lived(short, now=NOW)))
    with Client(
        make_config(),
        transport=httpx.MockTransport(lambda r: (_ for _ in ()).throw(httpx.ReadTimeout(str(r.url)))),
    ) as client:
        errors.append(capture(lambda: client.refresh(refreshed, now=NOW + timedelta(days=5))))

    assert len(errors) == 10
    for error in errors:
        for text in exception_texts(error):
            assert leaks(text) == [], (type(error).__name__, text)
    for text in shown:
        assert leaks(text) == [], text
    records = caplog.records
    assert any(r.name == "igtoken.http" for r in records)
    assert any(r.name == "httpx" for r in records), "httpx's own request log must be covered too"
    for record in records:
        assert leaks(record.getMessage()) == [], (record.name, record.getMessage())
        assert leaks(str(record.__dict__)) == [], record.name
    assert leaks(caplog.text) == []


def test_urls_in_exceptions_are_redacted() -> None:
    """An error about a URL carrying credentials names the URL with [redacted] in their place."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    config = ClientConfig(AppCredentials("1", Secret(APP_SECRET), "https://a.example/cb"), retry_attempts=1)
    short = AccessToken(Secret(SHORT_TOKEN), TokenKind.IG_SHORT, NOW, NOW + timedelta(hours=1))
    with Client(config, transport=httpx.MockTransport(refuse)) as client:
        error = capture(lambda: client.exchange_long_lived(short, now=NOW))
    assert (
        "GET https://graph.instagram.com/access_token?grant_type=ig_exchange_token"
        "&client_secret=[redacted]&access_token=[redacted] failed"
    ) in str(error)
