"""The values every layer passes around: tokens, token kinds, accounts, profiles.

All datetimes are timezone-aware UTC. Ids are strings, always: Meta sends
them as JSON numbers in some places, and a 17-digit id does not survive a
float anywhere on the way.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from igtoken.core.exceptions import ConfigurationError
from igtoken.core.secret import _MASK, Secret

#: The keys :meth:`AccessToken.to_dict` writes (and :meth:`AccessToken.from_dict` reads).
TOKEN_DICT_KEYS: Final = ("value", "kind", "issued_at", "expires_at", "user_id", "scopes")


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

    ``user_id`` says whose token it is, with one id per kind:

    - ``ig_short`` / ``ig_long``: the Instagram professional account id (``/me``'s
      ``user_id``, the id webhooks and ``/{ig-user-id}/media`` use); ``None`` until
      ``/me`` has been read (a bare code exchange knows only the app-scoped id, which
      :class:`~igtoken.CodeExchangeResult` keeps in ``app_scoped_id``).
    - ``fb_user``: the person's app-scoped Facebook user id.
    - ``fb_page``: the Page id.

    To keep a token in your own storage, :meth:`to_dict` with ``reveal=True`` gives
    plain JSON types and :meth:`from_dict` reads them back.
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

    def to_dict(self, *, reveal: bool = False) -> dict[str, Any]:
        """The token as JSON-ready values: ISO 8601 datetimes, the kind's name, a list of scopes.

        The token string is included only with ``reveal=True`` (store the result as you
        would store the token itself); otherwise ``value`` is a mask, which
        :meth:`from_dict` refuses.
        """
        return {
            "value": self.value.reveal() if reveal else _MASK,
            "kind": self.kind.value,
            "issued_at": self.issued_at.isoformat(),
            "expires_at": None if self.expires_at is None else self.expires_at.isoformat(),
            "user_id": self.user_id,
            "scopes": list(self.scopes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AccessToken:
        """Read what :meth:`to_dict` wrote with ``reveal=True``; :class:`ConfigurationError` if unusable."""
        if not isinstance(data, Mapping):
            raise ConfigurationError(f"expected a mapping, not {type(data).__name__}")
        value = data.get("value")
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str) or not value:
            raise ConfigurationError("the token dict has no 'value' string")
        if value == _MASK:
            raise ConfigurationError(
                "the token dict holds a mask, not the token", fix="write it with to_dict(reveal=True)"
            )
        try:
            kind = TokenKind(str(data.get("kind")))
        except ValueError:
            names = ", ".join(k.value for k in TokenKind)
            raise ConfigurationError(f"the token dict's 'kind' must be one of {names}") from None
        issued_at = _aware(data.get("issued_at"), "issued_at")
        if issued_at is None:
            raise ConfigurationError("the token dict has no 'issued_at'")
        user_id = data.get("user_id")
        if user_id is not None and not isinstance(user_id, str):
            raise ConfigurationError("the token dict's 'user_id' must be a string or null")
        scopes = data.get("scopes") or ()
        if isinstance(scopes, str) or not all(isinstance(s, str) for s in scopes):
            raise ConfigurationError("the token dict's 'scopes' must be a list of strings")
        return cls(
            value=Secret(value),
            kind=kind,
            issued_at=issued_at,
            expires_at=_aware(data.get("expires_at"), "expires_at"),
            user_id=user_id,
            scopes=tuple(scopes),
        )


def _aware(value: object, name: str) -> datetime | None:
    """An ISO 8601 string (or a datetime) as an aware datetime; ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ConfigurationError(f"the token dict's {name!r} is not an ISO 8601 datetime") from None
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ConfigurationError(f"the token dict's {name!r} must be a timezone-aware datetime")
    return value


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


@dataclass(frozen=True, slots=True)
class TokenInspection:
    """What Meta says a bare token string is (:meth:`igtoken.Client.inspect`).

    ``token`` is a full :class:`AccessToken` (kind, issue and expiry as far as Meta
    tells them, ``user_id``, scopes), ready for :meth:`~igtoken.Client.refresh` or
    your storage. Where Meta does not say when a token was issued, ``issued_at`` is
    the latest moment it can have been, so the 24-hour refresh rule is never broken,
    and ``expires_at`` the earliest moment it can expire.

    ``profile`` is the Instagram account for an Instagram Login token (``/me``);
    ``app_id`` the Meta app a Facebook token belongs to (``debug_token``).
    """

    token: AccessToken
    profile: Profile | None = None
    app_id: str | None = None
