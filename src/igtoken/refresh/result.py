"""What one on-demand or scheduled refresh came to (:class:`Result`), and what a failed one means.

Kept apart from :mod:`igtoken.refresh.usecase` so front doors can read a result without the
use case's machinery; the use case re-exports both names.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from igtoken.core.exceptions import ConflictError, NeedsReauthorizationError
from igtoken.refresh.facebook_accounts import PageTokenVerdict
from igtoken.refresh.outcomes import Outcome

if TYPE_CHECKING:
    from igtoken.vault import StoredToken

__all__ = ["Result", "log_result", "raise_for"]

log = logging.getLogger("igtoken.worker")


@dataclass(frozen=True, slots=True)
class Result:
    """What happened to one account's token. ``detail`` never holds a token.

    ``joined`` is set when another holder had the lease and this caller took that holder's
    result instead of calling Meta; ``error`` is the exception behind a failure, when there was
    one here (front doors re-raise it); ``verdict`` is a page-token check's verdict.
    """

    account_id: str
    token_id: str
    outcome: Outcome
    detail: str = ""
    next_attempt_at: datetime | None = None
    reauthorize_url: str | None = None
    joined: bool = False
    verdict: PageTokenVerdict | None = None
    error: BaseException | None = field(default=None, compare=False, repr=False)


#: Outcomes after which the account's current token is good to hand out.
_USABLE: Final = frozenset({Outcome.REFRESHED, Outcome.CHECKED, Outcome.SKIPPED, Outcome.RESCHEDULED})


def raise_for(result: Result) -> None:
    """For on-demand callers: raise what a failed :class:`Result` means; return if the token is usable.

    The exception behind the failure when there was one here (Meta's 190, a 24-hour rule
    broken, a network failure); otherwise one that says what happened elsewhere: the account
    needs re-authorization, another holder's refresh failed, or one is still in progress.
    """
    if result.error is not None:
        raise result.error
    if result.outcome in _USABLE:
        return
    if result.outcome is Outcome.NEEDS_REAUTH:
        raise NeedsReauthorizationError(
            f"account {result.account_id!r}: {result.detail}",
            status_code=0,
            fix="the account's owner must log in again (re-authorization link)",
        )
    if result.outcome is Outcome.IN_PROGRESS:
        raise ConflictError(result.detail, fix="try again in a few seconds")
    when = result.next_attempt_at
    later = f"; the next attempt is due at {when:%Y-%m-%d %H:%M} UTC" if when else ""
    raise ConflictError(
        f"account {result.account_id!r}: the refresh failed ({result.detail}){later}",
        fix="try again later; the token in hand is still valid until it expires",
    )


def log_result(result: Result) -> None:
    """One line per outcome; never a token (details come from igtoken's redacted messages)."""
    level = logging.WARNING if result.outcome in (Outcome.NEEDS_REAUTH, Outcome.ERROR) else logging.INFO
    extra = f" next={result.next_attempt_at.isoformat()}" if result.next_attempt_at else ""
    link = f" link={result.reauthorize_url}" if result.reauthorize_url else ""
    detail = f" ({result.detail})" if result.detail else ""
    log.log(
        level, "account=%s outcome=%s%s%s%s", result.account_id, result.outcome.value, extra, link, detail
    )


#: A forced refresh of a token another holder refreshed this recently joins that refresh.
JUST_REFRESHED: Final = timedelta(seconds=10)


def just_refreshed(before: StoredToken, now: datetime) -> Result | None:
    """The result to give when another holder refreshed ``before`` moments ago, else ``None``.

    A worker's tick or a parallel request finished just before this call read the token: that is
    the refresh asked for, so Meta is not asked again and the caller is not told "too young" about
    a token that is seconds old.
    """
    last = before.last_refreshed_at
    if last is None or not timedelta(0) <= now - last < JUST_REFRESHED:
        return None
    detail = "refreshed moments ago by another holder"
    return Result(
        before.account_id, before.token_id, Outcome.REFRESHED, detail, before.next_refresh_at, joined=True
    )
