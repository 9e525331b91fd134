"""Meta's rules for how Instagram Login tokens live, as pure functions of the token and ``now``.

An ``ig_short`` token lives one hour and is exchanged for an ``ig_long`` one at
once. An ``ig_long`` token lives 60 days and may be refreshed once it is at
least 24 hours old (counted from its issue or last refresh) and until it
expires; after that only a new login helps.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from igtoken.core.exceptions import ConfigurationError, RefreshError, TokenExpiredError, TokenTooNewError
from igtoken.core.models import AccessToken, TokenKind

SHORT_LIVED_TTL: Final = timedelta(hours=1)
LONG_LIVED_TTL: Final = timedelta(days=60)
#: A long-lived token may be refreshed only once it is this old.
REFRESH_MIN_AGE: Final = timedelta(hours=24)


def require_aware(now: datetime, name: str = "now") -> datetime:
    """Return ``now`` unchanged if it is timezone-aware; refuse naive datetimes."""
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise ConfigurationError(f"{name} must be a timezone-aware datetime (UTC), got {now!r}")
    return now


def refreshable_from(token: AccessToken) -> datetime:
    """The moment Meta starts accepting a refresh of ``token``."""
    return token.issued_at + REFRESH_MIN_AGE


def can_refresh(token: AccessToken, now: datetime) -> bool:
    """Whether Meta would refresh ``token`` at ``now``: long-lived, at least 24 hours old, not expired."""
    require_aware(now)
    return token.kind is TokenKind.IG_LONG and now >= refreshable_from(token) and not token.is_expired(now)


def ensure_refreshable(token: AccessToken, now: datetime) -> None:
    """Raise the specific :class:`RefreshError` that explains why ``token`` cannot be refreshed at ``now``.

    Checked before any request is sent, so a doomed refresh costs nothing and
    is not mistaken for a dead token.
    """
    require_aware(now)
    if token.kind is not TokenKind.IG_LONG:
        fix = (
            "exchange it for a long-lived token first"
            if token.kind is TokenKind.IG_SHORT
            else "Facebook Login tokens are not refreshed; log in again before they expire"
        )
        raise RefreshError(
            f"only long-lived Instagram tokens can be refreshed, not {token.kind.value}", fix=fix
        )
    if token.is_expired(now):
        assert token.expires_at is not None
        raise TokenExpiredError(
            f"the token expired at {token.expires_at.isoformat()} and can no longer be refreshed",
            fix="log in again to get a new token",
            expired_at=token.expires_at,
        )
    ready = refreshable_from(token)
    if now < ready:
        raise TokenTooNewError(
            f"the token is under 24 hours old; Meta refreshes it from {ready.isoformat()}",
            fix=f"try again after {ready.isoformat()}",
            refreshable_at=ready,
        )
