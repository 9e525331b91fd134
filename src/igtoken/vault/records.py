"""What the vault hands back: frozen records, never ORM objects, never a bare secret string."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from igtoken.core.models import AccessToken, AccountStatus, AccountType, FlowKind, TokenKind
from igtoken.core.secret import Secret

__all__ = [
    "CAPABILITIES",
    "AccountRecord",
    "AccountStatus",
    "ApiKeyRecord",
    "AppRecord",
    "Claim",
    "ConnectLinkRecord",
    "DeletionRequestRecord",
    "DeletionStatus",
    "EventRecord",
    "EventType",
    "KeyStatus",
    "OAuthStateRecord",
    "RotationReport",
    "StoredToken",
    "TokenInfo",
    "WebhookDeliveryRecord",
    "WebhookStatus",
]


class EventType(enum.StrEnum):
    """Kinds of audit events."""

    APP_ADDED = "app_added"
    APP_REMOVED = "app_removed"
    CONNECTED = "connected"
    REFRESHED = "refreshed"
    REFRESH_FAILED = "refresh_failed"
    TOKEN_CHECKED = "token_checked"  # noqa: S105 - an event name, not a secret
    EXPIRING = "expiring"
    NEEDS_REAUTH = "needs_reauth"
    DEAUTHORIZED = "deauthorized"
    DELETION_REQUESTED = "deletion_requested"
    DELETED = "deleted"
    KEY_ROTATED = "key_rotated"
    TOKEN_READ = "token_read"  # noqa: S105 - an event name, not a secret


class DeletionStatus(enum.StrEnum):
    """Progress of a data-deletion request."""

    RECEIVED = "received"
    COMPLETED = "completed"
    NOT_FOUND = "not_found"  #: no data was held for that user
    FAILED = "failed"


class WebhookStatus(enum.StrEnum):
    """Progress of an outbound notification."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  #: gave up after the last attempt


@dataclass(frozen=True, slots=True)
class AppRecord:
    """A Meta app igtoken acts for.

    ``config_id`` (Facebook Login apps only) is the Facebook Login for Business configuration the
    dialog is opened with; it fixes the permissions, so no ``scope`` is sent with it.
    """

    id: str
    name: str
    flow_kind: FlowKind
    instagram_app_id: str
    app_secret: Secret
    redirect_uris: tuple[str, ...]
    default_scopes: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    meta_app_id: str | None = None
    meta_app_secret: Secret | None = None
    config_id: str | None = None


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """A connected Instagram account (personal fields are ``None`` once deleted).

    The last four fields are set for accounts connected through Facebook Login:
    the Page the Instagram account is linked to, the (app-scoped) Facebook user
    who connected it, and when that person's 90-day data access lapses.
    """

    id: str
    app_id: str
    ig_user_id: str | None
    app_scoped_id: str | None
    username: str | None
    account_type: AccountType | None
    scopes: tuple[str, ...]
    status: AccountStatus
    status_reason: str | None
    created_at: datetime
    updated_at: datetime
    page_id: str | None = None
    page_name: str | None = None
    fb_user_id: str | None = None
    data_access_expires_at: datetime | None = None
    #: The platform's own id and the label, from the connect link the account came through.
    external_id: str | None = None
    label: str | None = None

    @property
    def via_facebook(self) -> bool:
        """Whether the account was connected through a Facebook Page (Facebook Login)."""
        return self.page_id is not None

    @property
    def served_kind(self) -> TokenKind | None:
        """The kind of token this account's users are handed: the page token for Facebook
        Login accounts, otherwise ``None`` (the newest current token of any kind)."""
        return TokenKind.FB_PAGE if self.page_id is not None else None


@dataclass(frozen=True, slots=True)
class StoredToken:
    """The current token of an account, decrypted, with its refresh bookkeeping."""

    token_id: str
    account_id: str
    app_id: str
    token: AccessToken
    account_status: AccountStatus
    key_id: str
    last_refreshed_at: datetime | None
    next_refresh_at: datetime | None
    failure_count: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """One row of an account's token history: metadata only, never the token."""

    token_id: str
    kind: TokenKind
    key_id: str
    is_current: bool
    issued_at: datetime
    expires_at: datetime | None
    created_at: datetime
    retired_at: datetime | None
    last_refreshed_at: datetime | None
    next_refresh_at: datetime | None
    failure_count: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Claim:
    """A due token leased to one worker until ``lease_expires_at``."""

    token_id: str
    account_id: str
    app_id: str
    owner: str
    lease_expires_at: datetime
    token: AccessToken
    next_refresh_at: datetime | None
    failure_count: int


@dataclass(frozen=True, slots=True)
class EventRecord:
    """An audit event."""

    id: int
    at: datetime
    type: str
    app_id: str | None
    account_id: str | None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConnectLinkRecord:
    """A connect (or re-authorize) link; the code itself is only shown once, at creation."""

    id: str
    app_id: str
    account_id: str | None
    scopes: tuple[str, ...]
    label: str | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    used_by_account_id: str | None
    #: How many connections it allows; ``None`` for any number.
    max_uses: int | None = 1
    uses: int = 0
    revoked_at: datetime | None = None
    #: Given to every account connected through the link.
    external_id: str | None = None
    #: Where the success page sends the person after connecting (no token in it, ever).
    redirect_url: str | None = None

    @property
    def is_used_up(self) -> bool:
        """Whether every allowed use has been spent."""
        return self.max_uses is not None and self.uses >= self.max_uses

    def status(self, now: datetime) -> str:
        """``revoked``, ``used`` (no use left), ``expired`` or ``active`` at ``now``, in that order."""
        if self.revoked_at is not None:
            return "revoked"
        if self.is_used_up:
            return "used"
        return "expired" if now >= self.expires_at else "active"

    def is_usable(self, now: datetime) -> bool:
        """Not revoked, a use left, and not expired at ``now``."""
        return self.status(now) == "active"


@dataclass(frozen=True, slots=True)
class OAuthStateRecord:
    """An OAuth ``state`` we issued."""

    id: str
    app_id: str
    link_id: str | None
    account_id: str | None
    redirect_uri: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    consumed_at: datetime | None


#: What an API key may be allowed to do, each checked by the service route that needs it.
CAPABILITIES: Final = (
    "accounts:read",  # GET /v1/accounts, GET /v1/accounts/{id}
    "tokens:read",  # GET /v1/accounts/{id}/token
    "graph",  # /v1/accounts/{id}/graph/{path}
    "refresh",  # POST /v1/accounts/{id}/refresh
    "links:create",  # POST /v1/connect-links
)


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """A service API key (the key itself is only shown once, at creation)."""

    id: str
    prefix: str
    name: str
    account_ids: tuple[str, ...] | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    #: What the key may do (see :data:`CAPABILITIES`); ``None``: everything.
    capabilities: tuple[str, ...] | None = None

    def allows(self, account_id: str) -> bool:
        """Whether this key may act on ``account_id``."""
        return self.revoked_at is None and (self.account_ids is None or account_id in self.account_ids)


@dataclass(frozen=True, slots=True)
class DeletionRequestRecord:
    """A data-deletion request and its progress."""

    id: str
    confirmation_code: str
    app_id: str | None
    account_id: str | None
    status: DeletionStatus
    detail: str | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class WebhookDeliveryRecord:
    """An outbound notification and its delivery attempts."""

    id: str
    event_type: str
    event_id: int | None
    url: str
    payload: dict[str, Any]
    status: WebhookStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    lease_owner: str | None
    lease_expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class KeyStatus:
    """How many sealed rows one key id still holds."""

    key_id: str
    tokens: int
    app_secrets: int
    configured: bool
    active: bool

    @property
    def rows(self) -> int:
        """Tokens and app secrets together."""
        return self.tokens + self.app_secrets


@dataclass(frozen=True, slots=True)
class RotationReport:
    """What a key rotation did."""

    target_key_id: str
    tokens: int
    app_secrets: int
    batches: int
