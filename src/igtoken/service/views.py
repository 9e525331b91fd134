"""Plain data the pages are rendered from; the vault side fills them, templates only read them.

No view model holds a token: the dashboard shows *about* tokens (status, expiry,
next refresh), never the token itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class AccountRow:
    """One line of the accounts list."""

    id: str
    username: str
    account_type: str
    status: str
    app_name: str = ""
    expires_at: datetime | None = None
    next_refresh_at: datetime | None = None
    last_error: str | None = None
    #: ``fb_page`` tokens never expire: the list says so instead of leaving the column empty.
    token_kind: str | None = None
    #: The Facebook Page of a Facebook Login account.
    page_name: str | None = None


@dataclass(frozen=True, slots=True)
class AccountDetail:
    """What the account page shows above its event history."""

    id: str
    username: str
    account_type: str
    status: str
    app_name: str = ""
    ig_user_id: str = ""
    scopes: tuple[str, ...] = ()
    token_kind: str | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    last_refreshed_at: datetime | None = None
    next_refresh_at: datetime | None = None
    failure_count: int = 0
    last_error: str | None = None
    page_id: str | None = None
    page_name: str | None = None
    #: Facebook Login: the user token's expiry (60 days) and the data-access expiry (90 days).
    user_token_expires_at: datetime | None = None
    data_access_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class EventRow:
    """One entry of an account's audit trail."""

    at: datetime
    kind: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class AppChoice:
    """A Meta app a connect link can be made for."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class LinkRow:
    """A connect link (or re-authorization link) as the dashboard lists it.

    ``url`` is shown in full only right after creation; afterwards the list
    shows ``url_hint``, because a link is as good as an invitation.
    """

    id: str
    app_name: str
    label: str
    status: str
    created_at: datetime
    expires_at: datetime | None = None
    url: str | None = None
    url_hint: str = ""
    account_id: str | None = None
    #: Connections made through it so far, and how many it allows (``None``: any number).
    uses: int = 0
    max_uses: int | None = 1


@dataclass(frozen=True, slots=True)
class NewLink:
    """The dashboard's "create a connect link" form, validated."""

    app_id: str
    label: str
    expires_in_hours: int
    #: How many accounts may connect through it: 1 (single use), N, or ``None`` (unlimited).
    max_uses: int | None = 1


@dataclass(frozen=True, slots=True)
class DeletionRequestRow:
    """A data deletion request received from Meta (or made from the dashboard)."""

    confirmation_code: str
    status: str
    requested_at: datetime
    account_id: str | None = None
    username: str | None = None
    completed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ExpiryBucket:
    """How many tokens expire on one day."""

    day: date
    count: int


@dataclass(frozen=True, slots=True)
class ConnectLanding:
    """The public page a connect link opens: who asks, for what, and a Continue button."""

    app_name: str
    permissions: tuple[str, ...]
    continue_url: str
    requested_by: str = ""
    expires_at: datetime | None = None
    is_reauthorization: bool = False
    #: Where the person logs in: ``Instagram`` or ``Facebook`` (Facebook Login apps).
    provider: str = "Instagram"


@dataclass(frozen=True, slots=True)
class ConnectOutcome:
    """The page at the end of onboarding: success, denied, personal account, or a dead link."""

    app_name: str
    username: str | None = None
    reason: str | None = None
    retry_url: str | None = None
    contact: str = ""
    #: What the person can do about it, as a sentence.
    fix: str = ""
    #: Facebook Login: the accounts connected, as ``@username (Page name)``.
    connected: tuple[str, ...] = ()
    #: Facebook Login: the Pages found without a linked Instagram account.
    unlinked_pages: tuple[str, ...] = ()
    #: Permissions the sign-in needs but did not get, as ``(name, what it lets the app do)``.
    permissions: tuple[tuple[str, str], ...] = ()
    #: Facebook Login: where to ask again for declined permissions (``auth_type=rerequest``).
    ask_again_url: str | None = None
    #: A remark for the person that does not change the outcome (e.g. a business Page may be missing).
    note: str | None = None
