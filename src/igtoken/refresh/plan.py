"""The pure refresh planner: from a token's state, the time and the policy, what to do and when.

No clock, no storage, no network: :func:`plan` is a function of its arguments, so the worker
that acts on its decisions can be tested apart from it, and it can be property-tested and
simulated over months in seconds. Meta's lifecycle rules (``reference/instagram-platform.md``
§1.6–1.7, §7) are encoded here once:

- an ``ig_short`` token (one hour) is exchanged for a long-lived one at once;
- an ``ig_long`` token may be refreshed from 24 hours of age until it expires (60 days);
- an expired token cannot be refreshed: only a new login helps;
- Facebook Login tokens have no refresh grant: they are checked with ``debug_token``,
  and their expiry and data-access expiry produce warnings.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from igtoken.core.models import AccountStatus, TokenKind
from igtoken.refresh.policy import RefreshPolicy, require_aware, retry_after_delta
from igtoken.refresh.state import TokenState

DEFAULT_POLICY: Final = RefreshPolicy()


class Action(enum.StrEnum):
    """What the worker should do now."""

    EXCHANGE = "exchange"  #: swap the ``ig_short`` token for a long-lived one, now
    REFRESH = "refresh"  #: refresh the ``ig_long`` token, now
    CHECK = "check"  #: check the Facebook Login token with ``debug_token``, now
    WAIT = "wait"  #: nothing to do before ``next_check_at``
    REAUTHORIZE = "reauthorize"  #: the token cannot be kept alive; the account must log in again


@dataclass(frozen=True, slots=True)
class ExpiryWarning:
    """A warning threshold was crossed: the token (or its data access) runs out at ``expires_at``."""

    threshold: timedelta
    expires_at: datetime
    remaining: timedelta
    subject: Literal["token", "data_access"] = "token"

    @property
    def threshold_days(self) -> float:
        """The threshold in days, as events and people speak of it."""
        return self.threshold / timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Decision:
    """The planner's answer.

    ``next_check_at`` is when to plan again if nothing changes: ``now`` for an action due now,
    a later time for ``WAIT``, ``None`` after ``REAUTHORIZE`` (nothing more will happen by itself).
    A ``warning``, when present, is to be announced (once) whatever the action is.
    """

    action: Action
    next_check_at: datetime | None
    warning: ExpiryWarning | None = None
    reason: str = ""

    @property
    def is_due(self) -> bool:
        """Whether the worker must call Meta now."""
        return self.action in (Action.EXCHANGE, Action.REFRESH, Action.CHECK)


def next_refresh_at(
    issued_at: datetime,
    account_id: str,
    policy: RefreshPolicy = DEFAULT_POLICY,
    expires_at: datetime | None = None,
) -> datetime:
    """When a freshly issued long-lived token should be refreshed; store it as ``next_attempt_at``.

    ``issued_at + refresh_age`` moved by the account's fixed jitter, never before Meta's 24 hours,
    and, given ``expires_at``, never later than ``expiry_margin`` before expiry. If the token
    expires before it is refreshable the result is at or past ``expires_at``; :func:`plan`
    reports that as needing re-authorization.
    """
    require_aware("issued_at", issued_at)
    earliest = issued_at + policy.min_age
    at = max(issued_at + policy.refresh_age + policy.jitter_offset(account_id), earliest)
    if expires_at is not None:
        require_aware("expires_at", expires_at)
        at = max(min(at, expires_at - max(policy.expiry_margin, policy.final_attempt_lead)), earliest)
    return at


def after_failure(
    failure_count: int,
    now: datetime,
    retry_after: timedelta | float | None = None,
    policy: RefreshPolicy = DEFAULT_POLICY,
) -> datetime:
    """When to try again after ``failure_count`` consecutive failures (this one included).

    The policy's backoff step, or Meta's ``retry_after`` hint (seconds or a timedelta) when that
    is longer, up to ``retry_after_cap``. Store the result as ``next_attempt_at``; :func:`plan`
    still pulls it in if it would fall past the token's expiry.
    """
    require_aware("now", now)
    delay = policy.backoff(failure_count)
    hint = retry_after_delta(retry_after)
    if hint is not None:
        delay = max(delay, min(hint, policy.retry_after_cap))
    return now + delay


def scheduled_state(
    account_id: str,
    kind: TokenKind,
    issued_at: datetime,
    expires_at: datetime | None,
    *,
    failure_count: int,
    next_refresh_at: datetime | None,
    now: datetime,
    policy: RefreshPolicy = DEFAULT_POLICY,
    data_access_expires_at: datetime | None = None,
) -> TokenState:
    """The planner's facts about a stored token, from the vault's schedule for it.

    The vault keeps when the next attempt is due (``next_refresh_at``), not when the last one
    failed: the failed attempt was one backoff step before it (a floor when Meta asked for
    longer), or ``now`` when nothing is scheduled. An expiry not after the issue time is no
    expiry. The worker's decisions and ``igtoken refresh --dry-run`` both start here.
    """
    if failure_count and next_refresh_at is not None:
        last_failure_at: datetime | None = next_refresh_at - policy.backoff(failure_count)
    else:
        last_failure_at = now if failure_count else None
    return TokenState(
        account_id=account_id,
        kind=kind,
        issued_at=issued_at,
        expires_at=expires_at if expires_at is None or expires_at > issued_at else None,
        data_access_expires_at=data_access_expires_at,
        failure_count=failure_count,
        last_failure_at=last_failure_at,
        next_attempt_at=next_refresh_at,
    )


def plan(state: TokenState, now: datetime, policy: RefreshPolicy = DEFAULT_POLICY) -> Decision:
    """Decide what to do with the token described by ``state`` at ``now`` under ``policy``."""
    require_aware("now", now)
    if state.account_status is not AccountStatus.ACTIVE:
        return Decision(Action.REAUTHORIZE, None, reason=f"the account is {state.account_status.value}")
    deadline, subject = _deadline(state)
    if deadline is not None and now >= deadline:
        what = "the token" if subject == "token" else "data access"
        return Decision(Action.REAUTHORIZE, None, reason=f"{what} expired at {deadline.isoformat()}")
    if state.kind is TokenKind.IG_SHORT:
        return _exchange(state, now, policy)
    warning = _warning(state, deadline, subject, now, policy)
    next_warning_at = _next_warning_at(deadline, now, policy)
    if state.kind is TokenKind.IG_LONG:
        return _refresh(state, now, policy, warning, next_warning_at)
    return _check(state, now, policy, warning, next_warning_at, deadline)


def _deadline(state: TokenState) -> tuple[datetime | None, Literal["token", "data_access"]]:
    """The first of the token's expiry and its data-access expiry, and which one it is."""
    if state.data_access_expires_at is not None and (
        state.expires_at is None or state.data_access_expires_at < state.expires_at
    ):
        return state.data_access_expires_at, "data_access"
    return state.expires_at, "token"


def _warning(
    state: TokenState,
    deadline: datetime | None,
    subject: Literal["token", "data_access"],
    now: datetime,
    policy: RefreshPolicy,
) -> ExpiryWarning | None:
    if deadline is None:
        return None
    remaining = deadline - now
    crossed = [threshold for threshold in policy.warn_before if remaining <= threshold]
    if not crossed:
        return None
    tightest = crossed[-1]
    announced = state.last_warned
    # A threshold larger than what is left now was announced for an earlier expiry date.
    if announced is not None and announced >= remaining and tightest >= announced:
        return None
    return ExpiryWarning(threshold=tightest, expires_at=deadline, remaining=remaining, subject=subject)


def _next_warning_at(deadline: datetime | None, now: datetime, policy: RefreshPolicy) -> datetime | None:
    if deadline is None:
        return None
    upcoming = [deadline - threshold for threshold in policy.warn_before if deadline - threshold > now]
    return min(upcoming, default=None)


def _earliest(*times: datetime | None) -> datetime:
    return min(t for t in times if t is not None)


def _exchange(state: TokenState, now: datetime, policy: RefreshPolicy) -> Decision:
    target = state.next_attempt_at or now
    if state.expires_at is not None and target >= state.expires_at:
        # Backoff ran past the one-hour life: no attempt is left, only a new login.
        return Decision(Action.WAIT, state.expires_at, reason="no exchange attempt fits before expiry")
    if now >= target:
        return Decision(Action.EXCHANGE, now, reason="a short-lived token is exchanged at once")
    return Decision(Action.WAIT, target, reason="backing off after a failed exchange")


def _refresh(
    state: TokenState,
    now: datetime,
    policy: RefreshPolicy,
    warning: ExpiryWarning | None,
    next_warning_at: datetime | None,
) -> Decision:
    earliest = state.issued_at + policy.min_age
    expires_at = state.expires_at
    if expires_at is not None and earliest >= expires_at:
        return Decision(
            Action.REAUTHORIZE,
            None,
            warning,
            reason="the token expires before it is 24 hours old, so Meta will never refresh it",
        )
    if state.next_attempt_at is not None:
        target = state.next_attempt_at
        reason = "backing off after a failed refresh" if state.failure_count else "refresh scheduled"
    else:
        target = next_refresh_at(state.issued_at, state.account_id, policy, expires_at)
        reason = "refresh scheduled"
    if expires_at is not None:
        last_chance = max(expires_at - policy.final_attempt_lead, earliest)
        if target > last_chance:
            if state.last_failure_at is not None and state.last_failure_at >= last_chance:
                # The last attempt has been made and failed; what remains is to let the token lapse.
                target, reason = expires_at, "no refresh attempt fits before expiry"
            else:
                target, reason = last_chance, "one last attempt before expiry"
    if target < earliest:
        target, reason = earliest, "waiting for the token to be 24 hours old"
    if now >= target:
        return Decision(Action.REFRESH, now, warning, reason="refresh due")
    return Decision(Action.WAIT, _earliest(target, next_warning_at), warning, reason=reason)


def _check(
    state: TokenState,
    now: datetime,
    policy: RefreshPolicy,
    warning: ExpiryWarning | None,
    next_warning_at: datetime | None,
    deadline: datetime | None,
) -> Decision:
    if state.next_attempt_at is not None:
        target = state.next_attempt_at
    elif state.last_checked_at is not None:
        target = state.last_checked_at + policy.page_check_interval
    else:
        target = now
    if deadline is not None:
        target = min(target, deadline)
    if now >= target:
        return Decision(Action.CHECK, now, warning, reason="Facebook Login tokens are checked, not refreshed")
    return Decision(Action.WAIT, _earliest(target, next_warning_at), warning, reason="check scheduled")
