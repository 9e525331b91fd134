"""Plain data the pages are rendered from; the vault side fills them, templates only read them.

No view model holds a token: the dashboard shows *about* tokens (status, expiry,
next refresh), never the token itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

#: What each usage figure measures, in words (the names are Meta's, as in ``igtoken_meta_usage_ratio``).
_USAGE_MEASURES: Final = {
    "call_count": "calls",
    "total_time": "time spent",
    "total_cputime": "CPU time",
}
_USAGE_SCOPES: Final = {
    "app": "for the whole app (X-App-Usage)",
    "business": "for this account (X-Business-Use-Case-Usage)",
}


@dataclass(frozen=True, slots=True)
class UsageFigure:
    """One of Meta's usage figures, readable: ``call_count 12%`` and what it means."""

    kind: str
    percent: float
    meaning: str

    @property
    def short(self) -> str:
        """``call_count 12%``: the figure's name without its scope, and the whole percent."""
        scope, _, measure = self.kind.partition("_")
        name = measure if scope in _USAGE_SCOPES else self.kind
        return f"{name} {self.percent:.0f}%"

    @property
    def scope(self) -> str:
        """Whose usage it is: ``this account``, ``whole app``, or empty when Meta's name does not say."""
        return {"app": "whole app", "business": "this account"}.get(self.kind.partition("_")[0], "")


@dataclass(frozen=True, slots=True)
class MetaUsage:
    """An account's last known Meta usage: the figures (highest first) and when Meta reported them."""

    figures: tuple[UsageFigure, ...]
    observed_at: datetime

    @classmethod
    def from_figures(cls, figures: Mapping[str, float], observed_at: datetime) -> MetaUsage | None:
        """Readable figures from percent by kind (``business_call_count``…); ``None`` when there are none."""
        out = []
        for kind, percent in figures.items():
            scope, _, measure = kind.partition("_")
            if scope in _USAGE_SCOPES and measure in _USAGE_MEASURES:
                meaning = f"{_USAGE_MEASURES[measure]}, % of Meta's limit {_USAGE_SCOPES[scope]}"
            else:
                meaning = "% of Meta's limit"
            out.append(UsageFigure(kind, percent, meaning))
        if not out:
            return None
        out.sort(key=lambda f: (-f.percent, f.kind))
        return cls(tuple(out), observed_at)

    @property
    def highest(self) -> UsageFigure:
        """The figure nearest the limit (Meta throttles when any one reaches 100%)."""
        return self.figures[0]


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
    #: The last usage Meta reported for the account (``None``: not known yet).
    meta_usage: MetaUsage | None = None


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
    #: The last usage Meta reported for the account (``None``: not known yet).
    meta_usage: MetaUsage | None = None


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
