"""Issue 21's pure pieces: copyable secrets, token dicts, masked requests, the exception family."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from datetime import UTC, datetime, timedelta

import pytest

from igtoken import (
    AccessToken,
    AppCredentials,
    AuthorizationDenied,
    ClientConfig,
    ConfigurationError,
    LoginRequiredError,
    NeedsReauthorizationError,
    PersonalAccountError,
    RefreshError,
    Secret,
    TokenExpiredError,
    TokenKind,
    parse_callback,
)
from igtoken.core.media import parse_timestamp
from igtoken.facebook import flows as fb_flows
from igtoken.instagram import flows as ig_flows

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
TOKEN = AccessToken(
    Secret("IGAA" + "t" * 40),
    TokenKind.IG_LONG,
    NOW,
    NOW + timedelta(days=60),
    "17841400000000001",
    ("a", "b"),
)


def test_secret_copies_as_itself_and_still_refuses_pickle() -> None:
    secret = Secret("value-1234")
    assert copy.copy(secret) is secret
    assert copy.deepcopy(secret) is secret
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_token_deepcopy_and_asdict() -> None:
    assert copy.deepcopy(TOKEN) == TOKEN
    data = dataclasses.asdict(TOKEN)
    assert data["value"] is TOKEN.value
    assert "tttt" not in repr(data)


def test_to_dict_round_trip_and_masking() -> None:
    revealed = TOKEN.to_dict(reveal=True)
    assert revealed == {
        "value": TOKEN.value.reveal(),
        "kind": "ig_long",
        "issued_at": "2026-03-01T12:00:00+00:00",
        "expires_at": "2026-04-30T12:00:00+00:00",
        "user_id": "17841400000000001",
        "scopes": ["a", "b"],
    }
    assert AccessToken.from_dict(revealed) == TOKEN
    page = AccessToken(Secret("EAA" + "p" * 40), TokenKind.FB_PAGE, NOW, None, "100000000000001")
    assert AccessToken.from_dict(page.to_dict(reveal=True)) == page
    masked = TOKEN.to_dict()
    assert "tttt" not in repr(masked)
    with pytest.raises(ConfigurationError, match="reveal=True"):
        AccessToken.from_dict(masked)


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "nope"},
        {"issued_at": "2026-03-01T12:00:00"},  # naive
        {"issued_at": None},
        {"expires_at": "soon"},
        {"scopes": "a,b"},
        {"user_id": 17841400000000001},
        {"value": ""},
    ],
)
def test_from_dict_refuses_what_it_cannot_trust(change: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        AccessToken.from_dict({**TOKEN.to_dict(reveal=True), **change})


def test_one_family_for_log_in_again() -> None:
    assert issubclass(TokenExpiredError, LoginRequiredError) and issubclass(TokenExpiredError, RefreshError)
    assert issubclass(NeedsReauthorizationError, LoginRequiredError)
    error = NeedsReauthorizationError("dead", status_code=400, code=190, error_subcode=463)
    assert (error.code, error.error_subcode, error.status_code) == (190, 463, 400)
    assert issubclass(PersonalAccountError, AuthorizationDenied)


def test_personal_account_denial_is_a_personal_account_error() -> None:
    url = (
        "https://app.example/cb?error=access_denied&error_reason=user_denied&error_description="
        "Instagram+Login+requires+a+professional+(business+or+creator)+account&state=s#_"
    )
    with pytest.raises(PersonalAccountError) as caught:
        parse_callback(url)
    assert caught.value.error == "access_denied"
    assert "Switch to professional" in caught.value.fix
    with pytest.raises(AuthorizationDenied) as plain:
        parse_callback("https://app.example/cb?error=access_denied&error_description=The+user+denied")
    assert not isinstance(plain.value, PersonalAccountError)


def test_requests_from_both_flow_modules_mask_their_credentials() -> None:
    secret = "app-secret-value"
    app = AppCredentials("990600000000001", Secret(secret), "https://app.example/cb")
    config = ClientConfig(app)
    short = AccessToken(Secret("IGAA" + "s" * 40), TokenKind.IG_SHORT, NOW, NOW + timedelta(hours=1))
    shown = [
        repr(next(ig_flows.exchange_long_lived(config, short, now=NOW))),
        repr(next(ig_flows.refresh(config, TOKEN, now=NOW + timedelta(days=2)))),
        repr(next(fb_flows.exchange_facebook_code(config, "AQBcode123", now=NOW))),
        repr(next(fb_flows.debug_token(config, Secret("EAA" + "d" * 40)))),
        repr(next(fb_flows.instagram_profile(config, Secret("EAA" + "d" * 40), "17841400000000001"))),
    ]
    for text in shown:
        assert secret not in text and "ssss" not in text and "tttt" not in text and "dddd" not in text
        assert "AQBcode123" not in text
    assert "appsecret_proof=[redacted]" in shown[-1]


def test_meta_timestamps_become_utc_datetimes() -> None:
    assert parse_timestamp("2026-01-01T00:00:00+0000") == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_timestamp("2026-01-01T02:00:00+02:00") == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_timestamp("2026-01-01T00:00:00") is None
    assert parse_timestamp("yesterday") is None
    assert parse_timestamp(None) is None
