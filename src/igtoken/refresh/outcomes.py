"""What one refresh attempt came to, and the pure mapping from an exception to it.

The worker never decides by class name alone in several places: :func:`classify` is the one
place that says which failures are retried later, which mean the account must log in again, and
which only move the schedule. It reads no clock and touches nothing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from igtoken.core.exceptions import (
    APIError,
    IGTokenError,
    NeedsReauthorizationError,
    RefreshError,
    RequestTimeout,
    ThrottledError,
    TokenExpiredError,
    TokenTooNewError,
    TransientError,
    TransportError,
    UnexpectedResponseError,
)
from igtoken.core.redact import redact_text

__all__ = ["DEAD_TOKEN_SUBCODES", "Failure", "Outcome", "classify", "token_is_dead"]


class Outcome(enum.StrEnum):
    """How one claimed token ended up; the worker counts these for its metrics."""

    REFRESHED = "refreshed"  #: refreshed (or exchanged); the new token is stored
    RETRY = "retry"  #: a transient failure (5xx, network, timeout): try again after backoff
    THROTTLED = "throttled"  #: Meta throttled: try again after its wait hint, others go on
    ERROR = "error"  #: an unexpected failure; retried with backoff, never dropped
    NEEDS_REAUTH = "needs_reauth"  #: the token is dead; a person must log in again
    CHECKED = "checked"  #: a Facebook page token was checked with debug_token and is still valid
    RESCHEDULED = "rescheduled"  #: nothing was due after all (too new, planner says wait)
    SKIPPED = "skipped"  #: the token changed or went away after the claim; nothing to do
    LOST_LEASE = "lost_lease"  #: the lease expired mid-call; another worker owns the token now
    IN_PROGRESS = "in_progress"  #: asked for on demand while another holder kept the lease too long


#: Meta's ``error_subcode`` values (with code 190) that mean the token is gone for good: app
#: removed (458), account checkpointed (459), password changed (460), expired (463), unconfirmed
#: (464), invalid (467), session invalid, e.g. a Page role lost (492), data access expired (493).
#: Code 190 without a subcode means the same.
DEAD_TOKEN_SUBCODES: Final = frozenset({458, 459, 460, 463, 464, 467, 492, 493})


def token_is_dead(exc: BaseException) -> bool:
    """Whether ``exc`` is Meta saying the token is gone, so only a new login helps.

    Meta's 190 with a subcode in :data:`DEAD_TOKEN_SUBCODES` or none, 102 (an expired or
    revoked session), and an expiry igtoken found itself (:class:`TokenExpiredError`). Throttles,
    transient faults and any other error never are.
    """
    if isinstance(exc, TokenExpiredError):
        return True
    if not isinstance(exc, NeedsReauthorizationError) or exc.code not in (190, 102, None):
        return False  # (no code: igtoken's own "needs re-authorization", e.g. an account's status)
    return exc.error_subcode is None or exc.error_subcode in DEAD_TOKEN_SUBCODES


@dataclass(frozen=True, slots=True)
class Failure:
    """A classified failure: the outcome, a loggable message (never a token), and Meta's hints."""

    outcome: Outcome
    message: str
    retry_after: float | None = None
    error_code: int | None = None
    refreshable_at: datetime | None = None


def classify(exc: BaseException) -> Failure:
    """Map an exception raised while refreshing one token to what the worker does next.

    - a dead token (:func:`token_is_dead`: 190 with a dead-token subcode or none, 102) and an
      already expired token stop retries; a 190 with another subcode is retried with backoff;
    - throttling keeps Meta's ``retry_after`` so the backoff honours it;
    - 5xx, Graph codes 1/2, network failures and timeouts are retried with backoff;
    - a token under 24 hours old is rescheduled, not counted as a failure;
    - anything else (a bad answer, a bug) is retried with backoff too: nothing is dropped.
    """
    name = type(exc).__name__
    text = exc.message if isinstance(exc, IGTokenError) else str(exc)
    # igtoken's own messages never hold a token; a foreign exception's text is scrubbed anyway.
    message = redact_text(f"{name}: {text}" if text else name)
    code = exc.code if isinstance(exc, APIError) else None
    if token_is_dead(exc):
        return Failure(Outcome.NEEDS_REAUTH, message, error_code=code)
    if isinstance(exc, TokenTooNewError):
        return Failure(Outcome.RESCHEDULED, message, refreshable_at=exc.refreshable_at)
    if isinstance(exc, ThrottledError):
        return Failure(Outcome.THROTTLED, message, retry_after=exc.retry_after, error_code=code)
    if isinstance(exc, TimeoutError | RequestTimeout):
        return Failure(Outcome.RETRY, f"timeout: {message}")
    if isinstance(exc, TransientError | TransportError):
        return Failure(Outcome.RETRY, message, error_code=code)
    if isinstance(exc, UnexpectedResponseError | RefreshError | APIError):
        return Failure(Outcome.ERROR, message, error_code=code)
    return Failure(Outcome.ERROR, f"unexpected {message}")
