"""Properties of the planner over arbitrary states, times and policies (Hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from igtoken.core.models import TokenKind
from igtoken.refresh import (
    META_MIN_AGE,
    AccountStatus,
    Action,
    RefreshPolicy,
    TokenState,
    after_failure,
    next_refresh_at,
    plan,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


def minutes(lo, hi):
    return st.integers(lo, hi).map(lambda m: timedelta(minutes=m))


@st.composite
def policies(draw):
    min_age = draw(minutes(24 * 60, 72 * 60))
    refresh_age = draw(minutes(min_age // timedelta(minutes=1), 60 * 24 * 60))
    jitter = draw(minutes(0, refresh_age // timedelta(minutes=1)))
    steps = sorted(draw(st.lists(minutes(1, 48 * 60), min_size=1, max_size=6)))
    thresholds = sorted(set(draw(st.lists(minutes(1, 30 * 24 * 60), max_size=5))), reverse=True)
    margin = draw(minutes(0, 10 * 24 * 60))
    lead = draw(minutes(1, max(margin, H) // timedelta(minutes=1)))
    return RefreshPolicy(
        refresh_age=refresh_age,
        jitter=jitter,
        min_age=min_age,
        failure_backoff=tuple(steps),
        retry_after_cap=draw(minutes(0, 3 * 24 * 60)),
        expiry_margin=margin,
        final_attempt_lead=lead,
        warn_before=tuple(thresholds),
        page_check_interval=draw(minutes(1, 7 * 24 * 60)),
    )


@st.composite
def situations(draw, kinds=tuple(TokenKind)):
    """A policy, a token state as a worker following the rules could have stored it, and a time."""
    policy = draw(st.one_of(st.just(RefreshPolicy()), policies()))
    kind = draw(st.sampled_from(kinds))
    issued = T0 + draw(minutes(0, 10 * 24 * 60))
    if kind is TokenKind.FB_PAGE and draw(st.booleans()):
        expires = None
    else:
        expires = issued + draw(minutes(1, 60 * 24 * 60))
    horizon = (expires or issued + 60 * D) - issued
    now = issued + draw(minutes(0, (horizon + 2 * D) // timedelta(minutes=1)))
    failures = draw(st.integers(0, 12))
    last_failure = next_attempt = None
    if failures:
        last_failure = issued + draw(minutes(0, (now - issued) // timedelta(minutes=1)))
        hint = draw(st.one_of(st.none(), st.floats(-10, 5 * 86400, allow_nan=False)))
        next_attempt = after_failure(failures, last_failure, hint, policy)
    elif kind is TokenKind.IG_LONG and draw(st.booleans()):
        next_attempt = next_refresh_at(issued, "acct", policy, expires)
    data_access = None
    if kind in (TokenKind.FB_USER, TokenKind.FB_PAGE) and draw(st.booleans()):
        data_access = issued + draw(minutes(1, 90 * 24 * 60))
    state = TokenState(
        account_id=draw(st.text(min_size=1, max_size=20)),
        kind=kind,
        issued_at=issued,
        expires_at=expires,
        account_status=draw(st.sampled_from(AccountStatus))
        if draw(st.integers(0, 9)) == 0
        else AccountStatus.ACTIVE,
        failure_count=failures,
        last_failure_at=last_failure,
        next_attempt_at=next_attempt,
        last_warned=draw(st.one_of(st.none(), st.sampled_from(policy.warn_before or (D,)))),
        last_checked_at=draw(st.one_of(st.none(), st.just(issued))),
        data_access_expires_at=data_access,
    )
    return policy, state, now


def deadline(state):
    times = [t for t in (state.expires_at, state.data_access_expires_at) if t is not None]
    return min(times, default=None)


@settings(max_examples=300, deadline=None)
@given(situations())
def test_never_refreshes_a_token_under_24_hours_old_or_expired(situation):
    """A refresh decision always meets Meta's rule: at least 24 hours old and not expired."""
    policy, state, now = situation
    decision = plan(state, now, policy)
    if decision.action is Action.REFRESH:
        assert state.kind is TokenKind.IG_LONG
        assert now - state.issued_at >= META_MIN_AGE
        assert state.expires_at is None or now < state.expires_at
    if decision.is_due:
        assert state.account_status is AccountStatus.ACTIVE
        assert deadline(state) is None or now < deadline(state)


@settings(max_examples=300, deadline=None)
@given(situations())
def test_a_wait_is_in_the_future_and_never_past_expiry(situation):
    """WAIT always moves time forward and never sleeps past the token's deadline."""
    policy, state, now = situation
    decision = plan(state, now, policy)
    if decision.action is Action.WAIT:
        assert decision.next_check_at is not None and decision.next_check_at > now
        end = deadline(state)
        assert end is None or decision.next_check_at <= end
    elif decision.action is Action.REAUTHORIZE:
        assert decision.next_check_at is None
    else:
        assert now == decision.next_check_at


@settings(max_examples=300, deadline=None)
@given(situations(kinds=(TokenKind.IG_LONG,)))
def test_a_refreshable_token_always_gets_an_attempt_before_expiry(situation):
    """While a refresh is possible and the last attempt is unspent, the next one comes before expiry."""
    policy, state, now = situation
    decision = plan(state, now, policy)
    earliest = state.issued_at + policy.min_age
    assert state.expires_at is not None
    if (
        state.account_status is not AccountStatus.ACTIVE
        or now >= state.expires_at
        or earliest >= state.expires_at
    ):
        assert decision.action is Action.REAUTHORIZE
        return
    last_chance = max(state.expires_at - policy.final_attempt_lead, earliest)
    assert decision.action in (Action.REFRESH, Action.WAIT)
    if state.last_failure_at is None or state.last_failure_at < last_chance:
        assert decision.next_check_at is not None
        assert decision.next_check_at <= max(last_chance, now)
        assert decision.next_check_at < state.expires_at


@settings(max_examples=300, deadline=None)
@given(policies(), st.one_of(st.none(), st.floats(-100, 10 * 86400, allow_nan=False)))
def test_backoff_is_monotonic_and_capped(policy, hint):
    """Each further failure waits at least as long; no wait exceeds the schedule's or the hint's cap."""
    delays = [after_failure(n, T0, hint, policy) - T0 for n in range(1, 20)]
    assert delays == sorted(delays)
    cap = max(policy.failure_backoff[-1], policy.retry_after_cap if hint and hint > 0 else timedelta(0))
    assert all(timedelta(0) < delay <= cap for delay in delays)
    if hint is not None and hint > 0:
        assert all(delay >= min(timedelta(seconds=hint), policy.retry_after_cap) for delay in delays)


@settings(max_examples=300, deadline=None)
@given(policies(), st.text(min_size=1, max_size=40), minutes(1, 60 * 24 * 60))
def test_jitter_stays_within_its_bounds(policy, account_id, life):
    """The scheduled refresh is refresh_age ± jitter, never before min_age, never inside the expiry margin."""
    offset = policy.jitter_offset(account_id)
    assert abs(offset) <= policy.jitter
    at = next_refresh_at(T0, account_id, policy)
    assert at >= T0 + policy.min_age
    assert abs(at - (T0 + policy.refresh_age)) <= policy.jitter
    clamped = next_refresh_at(T0, account_id, policy, T0 + life)
    assert T0 + policy.min_age <= clamped <= max(at, T0 + policy.min_age)
    if T0 + policy.min_age <= T0 + life - max(policy.expiry_margin, policy.final_attempt_lead):
        assert clamped <= T0 + life - max(policy.expiry_margin, policy.final_attempt_lead)
