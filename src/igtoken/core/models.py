"""The values every layer passes around: tokens, token kinds, accounts, profiles.

All datetimes are timezone-aware UTC. Ids are strings, always: Meta sends
them as JSON numbers in some places, and a 17-digit id does not survive a
float anywhere on the way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from igtoken.core.secret import Secret


class TokenKind(enum.StrEnum):
    """What a token is, which decides how it lives and how it is refreshed."""

    IG_SHORT = "ig_short"  #: Instagram Login, one hour; exchanged for ``ig_long`` at once
    IG_LONG = "ig_long"  #: Instagram Login, 60 days; refreshable from 24 hours of age
    FB_USER = "fb_user"  #: Facebook Login user token (short or long-lived)
    FB_PAGE = "fb_page"  #: Facebook Page token; derived from a long-lived user token, no expiry


class AccountType(enum.StrEnum):
    """Instagram account types as Meta names them in ``account_type``."""

    BUSINESS = "BUSINESS"
    MEDIA_CREATOR = "MEDIA_CREATOR"
    PERSONAL = "PERSONAL"


class AccountStatus(enum.StrEnum):
    """Where a connected account stands; anything but ``ACTIVE`` means igtoken leaves its token alone."""

    ACTIVE = "active"  #: tokens are kept fresh
    NEEDS_REAUTH = "needs_reauth"  #: the token is dead or will die; a person must log in again
    DEAUTHORIZED = (
        "deauthorized"  #: the person removed the app (Meta's deauthorize callback); tokens destroyed
    )
    DELETED = "deleted"  #: a data-deletion request was carried out; a tombstone remains


class FlowKind(enum.StrEnum):
    """Which of Meta's two login products an app uses."""

    INSTAGRAM_LOGIN = "instagram_login"
    FACEBOOK_LOGIN = "facebook_login"


@dataclass(frozen=True, slots=True)
class AccessToken:
    """An access token with what we know about its life.

    ``expires_at`` is ``None`` for tokens that never expire (page tokens).
    ``issued_at`` is when Meta issued or last refreshed it: Meta's 24-hour
    rule counts from there.
    """

    value: Secret
    kind: TokenKind
    issued_at: datetime
    expires_at: datetime | None
    user_id: str | None = None
    scopes: tuple[str, ...] = ()

    def age(self, now: datetime) -> timedelta:
        """How long ago the token was issued."""
        return now - self.issued_at

    def expires_in(self, now: datetime) -> timedelta | None:
        """Time left before expiry, negative once expired; ``None`` if it never expires."""
        return None if self.expires_at is None else self.expires_at - now

    def is_expired(self, now: datetime) -> bool:
        """Whether the token has expired at ``now``."""
        return self.expires_at is not None and now >= self.expires_at


@dataclass(frozen=True, slots=True)
class Profile:
    """An Instagram professional account as ``/me`` describes it."""

    user_id: str
    username: str
    account_type: AccountType | None = None
    app_scoped_id: str | None = None
    name: str | None = None
    profile_picture_url: str | None = None
    followers_count: int | None = None
    follows_count: int | None = None
    media_count: int | None = None


@dataclass(frozen=True, slots=True)
class LoginResult:
    """What a completed login yields: the long-lived token, the account, and scope news."""

    token: AccessToken
    profile: Profile
    granted_scopes: tuple[str, ...] = ()
    #: Scopes that were asked for but not granted; empty when all were.
    missing_scopes: tuple[str, ...] = field(default=())
