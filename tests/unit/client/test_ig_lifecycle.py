"""Meta's refresh rules, checked locally: long-lived, at least 24 hours old, not expired."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from igtoken import (
    AccessToken,
    ConfigurationError,
    RefreshError,
    Secret,
    TokenExpiredError,
    TokenKind,
    TokenTooNewError,
    can_refresh,
    ensure_refreshable,
    refreshable_from,
)

from .ig_meta_fakes import NOW


def token(kind: TokenKind = TokenKind.IG_LONG, age: timedelta = timedelta(days=2), ttl=timedelta(days=60)):
    issued = NOW - age
    return AccessToken(Secret("IGAAvalue"), kind, issued_at=issued, expires_at=issued + ttl)


def test_refreshable_between_24_hours_and_expiry() -> None:
    """A long-lived token is refreshable from exactly 24 hours of age until it expires."""
    assert can_refresh(token(age=timedelta(hours=24)), NOW)
    assert can_refresh(token(age=timedelta(days=59, hours=23)), NOW)
    assert not can_refresh(token(age=timedelta(hours=23, minutes=59)), NOW)
    assert not can_refresh(token(age=timedelta(days=60)), NOW)
    assert not can_refresh(token(TokenKind.IG_SHORT), NOW)
    ensure_refreshable(token(), NOW)


def test_too_new_says_when_it_becomes_refreshable() -> None:
    """TokenTooNewError names the moment the token becomes refreshable."""
    young = token(age=timedelta(hours=3))
    with pytest.raises(TokenTooNewError) as caught:
        ensure_refreshable(young, NOW)
    assert refreshable_from(young) == caught.value.refreshable_at == NOW + timedelta(hours=21)
    assert caught.value.refreshable_at.isoformat() in str(caught.value)


def test_expired_is_distinct_from_too_new() -> None:
    """An expired token raises TokenExpiredError (log in again), not TokenTooNewError."""
    old = token(age=timedelta(days=61))
    with pytest.raises(TokenExpiredError) as caught:
        ensure_refreshable(old, NOW)
    assert old.expires_at == caught.value.expired_at
    assert not isinstance(caught.value, TokenTooNewError)
    assert "log in again" in caught.value.fix


@pytest.mark.parametrize("kind", [TokenKind.IG_SHORT, TokenKind.FB_USER, TokenKind.FB_PAGE])
def test_other_kinds_are_not_refreshable(kind: TokenKind) -> None:
    """Only ig_long tokens are refreshed; the error says what to do instead."""
    with pytest.raises(RefreshError) as caught:
        ensure_refreshable(token(kind), NOW)
    assert caught.value.fix


def test_naive_now_is_refused() -> None:
    """Time must be timezone-aware."""
    with pytest.raises(ConfigurationError, match="timezone-aware"):
        can_refresh(token(), datetime(2026, 1, 1))  # noqa: DTZ001
