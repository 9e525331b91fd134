"""Facebook Login accounts, as the CLI and the service both handle them.

What a completed Facebook login amounts to once stored (:class:`FacebookConnection`),
when a new page token is first checked (:func:`first_check_at`), and what Meta's
``debug_token`` answer about a stored page token means for its account
(:func:`page_token_verdict`). Pure: no I/O, time is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from igtoken._fb_models import ConnectedPage, FacebookLoginResult, TokenDebugInfo
from igtoken._lifecycle import require_aware

if TYPE_CHECKING:
    from igtoken.vault import AccountRecord

__all__ = [
    "FacebookConnection",
    "PageTokenVerdict",
    "first_check_at",
    "page_token_verdict",
    "summarize_facebook_login",
]


@dataclass(frozen=True, slots=True)
class FacebookConnection:
    """A stored Facebook login: the accounts it connected and the Pages it could not use."""

    accounts: tuple[AccountRecord, ...]
    #: Pages without a linked Instagram professional account (or without a page token).
    unlinked_pages: tuple[ConnectedPage, ...]
    #: What to tell the person when no account was connected; ``None`` otherwise.
    hint: str | None
    missing_scopes: tuple[str, ...] = ()
    user_token_expires_at: datetime | None = None
    data_access_expires_at: datetime | None = None
    #: Set whenever ``business_management`` was not granted: business-owned Pages may be missing.
    business_management_hint: str | None = None

    def unlinked_names(self) -> list[str]:
        """The unlinked Pages by name (their id when Meta gave no name)."""
        return [p.page_name or p.page_id for p in self.unlinked_pages]


def summarize_facebook_login(
    result: FacebookLoginResult, accounts: list[AccountRecord]
) -> FacebookConnection:
    """What a login stored with :meth:`~igtoken.vault.Vault.save_facebook_login` connected."""
    stored_pages = {a.page_id for a in accounts}
    unlinked = tuple(p for p in result.pages if p.page_id not in stored_pages)
    hint = result.hint
    if hint is None and not accounts:
        hint = "Facebook gave no page token for the linked Pages: the person needs a task on the Page"
    return FacebookConnection(
        accounts=tuple(accounts),
        unlinked_pages=unlinked,
        hint=hint,
        missing_scopes=result.missing_scopes,
        user_token_expires_at=result.user_token.expires_at,
        data_access_expires_at=result.data_access_expires_at,
        business_management_hint=result.business_management_hint,
    )


def first_check_at(now: datetime) -> datetime:
    """When a freshly stored page token is first checked with ``debug_token``: one check interval on."""
    from igtoken.refresh import DEFAULT_POLICY

    require_aware(now)
    return now + DEFAULT_POLICY.page_check_interval


#: debug_token error codes that mean the token is dead for good (190 and its subcodes:
#: 460 password changed, 458 app removed, 463 expired, 467 invalidated; 102 session).
_DEAD_CODES = frozenset({190, 102})


@dataclass(frozen=True, slots=True)
class PageTokenVerdict:
    """What ``debug_token`` says about an account's page token."""

    ok: bool
    #: The token is dead for good: the account needs re-authorization.
    needs_reauth: bool
    detail: str


def page_token_verdict(info: TokenDebugInfo, page_id: str | None) -> PageTokenVerdict:
    """Judge a ``debug_token`` answer for the page token of the Page ``page_id``.

    Invalid with code 190 (password changed, role lost, app removed, expired) means
    re-authorization; a valid token for another Page, or one that is about to expire,
    is reported but is not a reason to log in again by itself.
    """
    if not info.is_valid:
        error = info.error
        code = error.code if error is not None else None
        subcode = f"/{error.subcode}" if error is not None and error.subcode is not None else ""
        message = error.message if error is not None else "no reason given"
        # Meta sometimes answers is_valid false without an error object: treat it as dead too.
        dead = code is None or code in _DEAD_CODES
        where = f"{code}{subcode}: " if code is not None else ""
        return PageTokenVerdict(False, dead, f"Meta says the page token is invalid ({where}{message})")
    if info.type not in (None, "PAGE"):
        return PageTokenVerdict(False, False, f"the stored token is a {info.type} token, not a page token")
    if page_id is not None and info.profile_id not in (None, page_id):
        return PageTokenVerdict(
            False, False, f"the page token belongs to Page {info.profile_id}, not {page_id}"
        )
    never = info.expires_at is None
    return PageTokenVerdict(
        True, False, "valid, never expires" if never else f"valid until {info.expires_at:%Y-%m-%d %H:%M} UTC"
    )
