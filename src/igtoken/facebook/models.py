"""What Facebook Login for Business yields: Pages, their Instagram accounts, and token inspections.

Ids are strings, datetimes timezone-aware UTC, tokens :class:`~igtoken.AccessToken`
(kind ``fb_user`` or ``fb_page``), as everywhere else in igtoken.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from igtoken.core.models import AccessToken, Profile
from igtoken.facebook.scopes import missing_business_management_hint, no_pages_hint


@dataclass(frozen=True, slots=True)
class FacebookUser:
    """The Facebook user behind a user token, as ``/me`` describes them (app-scoped id)."""

    user_id: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class FacebookPermissions:
    """``/me/permissions``: what the person granted, declined, or let lapse."""

    granted: tuple[str, ...] = ()
    declined: tuple[str, ...] = ()
    expired: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FacebookPage:
    """A Page from ``/me/accounts``: one the person can act on, with its page token if Meta gave one."""

    page_id: str
    name: str | None = None
    category: str | None = None
    #: What the person may do on the Page (``MANAGE``, ``CREATE_CONTENT``, …).
    tasks: tuple[str, ...] = ()
    page_token: AccessToken | None = None
    #: The linked Instagram professional account's id, ``None`` when no account is linked.
    instagram_account_id: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectedPage:
    """A Page after login: its page token, and the Instagram account linked to it (``None`` if none)."""

    page_id: str
    page_name: str | None
    page_token: AccessToken | None
    instagram_account: Profile | None = None

    @property
    def is_linked(self) -> bool:
        """Whether an Instagram professional account is linked to this Page."""
        return self.instagram_account is not None


@dataclass(frozen=True, slots=True)
class GranularScope:
    """One of ``debug_token``'s ``granular_scopes``: a permission and the objects it covers."""

    scope: str
    #: Page or Instagram account ids; empty means the permission covers everything.
    target_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TokenDebugError:
    """Why ``debug_token`` says a token is invalid (``data.error``)."""

    code: int | None
    subcode: int | None
    message: str


@dataclass(frozen=True, slots=True)
class TokenDebugInfo:
    """What ``debug_token`` says about a token.

    ``expires_at`` is ``None`` when Meta says 0 (never expires, as for page tokens
    from a long-lived user token); ``data_access_expires_at`` is when the 90-day
    data access window closes (``None`` when not given).
    """

    is_valid: bool
    app_id: str | None = None
    application: str | None = None
    #: ``USER``, ``PAGE``, ``APP`` or ``SYSTEM_USER``.
    type: str | None = None
    user_id: str | None = None
    #: The Page a page token belongs to.
    profile_id: str | None = None
    scopes: tuple[str, ...] = ()
    granular_scopes: tuple[GranularScope, ...] = ()
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    data_access_expires_at: datetime | None = None
    error: TokenDebugError | None = None

    def targets(self, scope: str) -> tuple[str, ...] | None:
        """The ids ``scope`` is limited to: ``()`` for all, ``None`` if the scope is not granted."""
        for granular in self.granular_scopes:
            if granular.scope == scope:
                return granular.target_ids
        return () if scope in self.scopes else None


@dataclass(frozen=True, slots=True)
class FacebookLoginResult:
    """A completed Facebook Login: the long-lived user token, every Page, and scope news.

    ``pages`` lists every Page Meta returned, linked or not, so a UI can name the
    ones without an Instagram account. When it is empty, :attr:`hint` says why
    that usually happens.
    """

    user_token: AccessToken
    data_access_expires_at: datetime | None
    pages: tuple[ConnectedPage, ...]
    granted_scopes: tuple[str, ...] = ()
    #: Asked for but not granted; empty when all were (or nothing was asked for by name).
    missing_scopes: tuple[str, ...] = field(default=())

    @classmethod
    def from_inspection(
        cls,
        user_token: AccessToken,
        info: TokenDebugInfo,
        pages: Iterable[ConnectedPage],
        *,
        requested_scopes: Sequence[str] = (),
    ) -> FacebookLoginResult:
        """The result for ``user_token``, which ``debug_token`` described as ``info``: its Pages, what
        it was granted, and which of ``requested_scopes`` it was not."""
        return cls(
            user_token=user_token,
            data_access_expires_at=info.data_access_expires_at,
            pages=tuple(pages),
            granted_scopes=info.scopes,
            missing_scopes=tuple(s for s in requested_scopes if s not in info.scopes),
        )

    @property
    def linked_pages(self) -> tuple[ConnectedPage, ...]:
        """The Pages with a linked Instagram professional account."""
        return tuple(p for p in self.pages if p.is_linked)

    @property
    def unlinked_pages(self) -> tuple[ConnectedPage, ...]:
        """The Pages without a linked Instagram account."""
        return tuple(p for p in self.pages if not p.is_linked)

    @property
    def instagram_accounts(self) -> tuple[Profile, ...]:
        """The Instagram accounts reached through the Pages, in Page order."""
        return tuple(p.instagram_account for p in self.pages if p.instagram_account is not None)

    @property
    def business_management_hint(self) -> str | None:
        """Business-owned Pages may be missing: ``business_management`` was not granted (else ``None``).

        Given whenever the permission is missing, even when some Page did come back.
        """
        return missing_business_management_hint(self.granted_scopes)

    @property
    def hint(self) -> str | None:
        """What to tell the person when no Instagram account came back; ``None`` when one did."""
        if not self.pages:
            return no_pages_hint(self.granted_scopes)
        if not self.linked_pages:
            names = ", ".join(repr(p.page_name or p.page_id) for p in self.pages)
            return (
                f"none of the Pages ({names}) has a linked Instagram professional account: link one in "
                "the Instagram app (Settings > Account type and tools > Connect a Facebook Page) or in "
                "Meta Business Suite, then log in again"
            )
        return None
