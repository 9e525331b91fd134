"""plan(): the decisions for each token kind, status and edge of Meta's lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from igtoken.core.models import AccessToken, TokenKind
from igtoken.core.secret import Secret
from igtoken.refresh import (
    AccountStatus,
    Action,
    RefreshPolicy,
    TokenState,
    after_failure,
    next_refresh_at,
    plan,
)
from igtoken.refresh.plan import scheduled_state

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
M = timedelta(minutes=1)
POLICY = RefreshPolicy()


def long_token(issued=T0, life=60 * D, **facts):
    return TokenState(account_id="17841400000000001", kind=TokenKind.IG_LONG, issued_at=issued,
                      expires_at=issued + life, **facts)  # fmt: skip


@pytest.mark.parametrize(
    "status", [AccountStatus.NEEDS_REAUTH, AccountStatus.DEAUTHORIZED, AccountStatus.DELETED]
)
def test_an_inactive_account_is_left_alone(status):
    """Only an active account's token is refreshed; any other status means re-authorize."""
    decision = plan(long_token(account_status=status), T0 + 10 * D)
    assert decision.action == Action.REAUTHORIZE
    assert decision.next_check_at is None
    assert status.value in decision.reason


def test_an_expired_token_needs_reauthorization():
    """Meta cannot refresh an expired token; only a new login helps."""
    decision = plan(long_token(), T0 + 60 * D)
    assert decision.action == Action.REAUTHORIZE
    assert "expired" in decision.reason


def test_a_fresh_token_waits_for_its_jittered_refresh_age():
    """A new long-lived token is left alone until about 7 days of age."""
    state = long_token()
    decision = plan(state, T0 + H)
    expected = next_refresh_at(T0, state.account_id, POLICY, state.expires_at)
    assert decision.action == Action.WAIT
    assert expected == decision.next_check_at
    assert abs(expected - (T0 + 7 * D)) <= 12 * H
    assert decision.warning is None


def test_a_token_past_its_refresh_age_is_refreshed():
    """Once the scheduled time has come, the decision is to refresh now."""
    decision = plan(long_token(), T0 + 8 * D)
    assert decision.action == Action.REFRESH
    assert decision.is_due
    assert decision.next_check_at == T0 + 8 * D


def test_a_stored_next_attempt_overrides_the_computed_schedule():
    """The time the worker stored is the one honoured."""
    decision = plan(long_token(next_attempt_at=T0 + 2 * D), T0 + 2 * D)
    assert decision.action == Action.REFRESH


def test_a_next_attempt_before_24_hours_is_pulled_to_24_hours():
    """Even a stored time cannot make a refresh happen before Meta's 24 hours."""
    decision = plan(long_token(next_attempt_at=T0 + H), T0 + 2 * H)
    assert decision.action == Action.WAIT
    assert decision.next_check_at == T0 + 24 * H


def test_a_short_lived_token_is_exchanged_at_once():
    """ig_short lives an hour: exchange it now, with no expiry warning for its short life."""
    state = TokenState("a", TokenKind.IG_SHORT, T0, T0 + H)
    decision = plan(state, T0 + timedelta(minutes=1))
    assert decision.action == Action.EXCHANGE
    assert decision.warning is None


def test_a_failed_exchange_backs_off_then_gives_up_at_expiry():
    """After a failed exchange the next try waits; a backoff past expiry means no more tries."""
    failed_at = T0 + timedelta(minutes=2)
    retry = after_failure(1, failed_at)
    state = TokenState("a", TokenKind.IG_SHORT, T0, T0 + H, failure_count=1, last_failure_at=failed_at,
                       next_attempt_at=retry)  # fmt: skip
    assert (Action.WAIT, retry) == (plan(state, failed_at).action, plan(state, failed_at).next_check_at)
    late = TokenState("a", TokenKind.IG_SHORT, T0, T0 + H, failure_count=3, last_failure_at=T0 + 40 * M,
                      next_attempt_at=T0 + 2 * H)  # fmt: skip
    decision = plan(late, T0 + timedelta(minutes=41))
    assert (decision.action, decision.next_check_at) == (Action.WAIT, T0 + H)
    assert plan(late, T0 + H).action == Action.REAUTHORIZE


def test_a_token_that_expires_before_24_hours_of_age_needs_reauthorization_now():
    """A token issued with less than a day to live can never be refreshed: say so at once, with a warning."""
    state = long_token(life=20 * H)
    decision = plan(state, T0 + H)
    assert decision.action == Action.REAUTHORIZE
    assert "24 hours" in decision.reason
    assert decision.warning is not None and decision.warning.threshold == D


def test_a_token_with_little_life_left_waits_for_24_hours_and_warns():
    """Issued with 30 hours to live, the token is warned about and refreshed right at 24 hours."""
    state = long_token(life=30 * H)
    decision = plan(state, T0 + 2 * H)
    assert decision.action == Action.WAIT
    assert decision.next_check_at == T0 + 6 * H  # wakes for the 1-day warning first
    assert decision.warning is not None and decision.warning.threshold == 3 * D
    warned = TokenState(**{**_fields(state), "last_warned": 3 * D})
    at_one_day = plan(warned, T0 + 6 * H)
    assert (at_one_day.action, at_one_day.next_check_at) == (Action.WAIT, T0 + 24 * H)
    assert at_one_day.warning is not None and at_one_day.warning.threshold == D
    assert plan(state, T0 + 24 * H).action == Action.REFRESH


def test_a_refresh_age_longer_than_the_life_is_clamped_before_expiry():
    """With refresh_age near 60 days, the refresh still happens expiry_margin before expiry."""
    policy = RefreshPolicy(refresh_age=59 * D, jitter=timedelta(0))
    state = long_token()
    assert next_refresh_at(T0, state.account_id, policy, state.expires_at) == T0 + 57 * D
    assert plan(state, T0 + 56 * D, policy).action == Action.WAIT
    assert plan(state, T0 + 57 * D, policy).action == Action.REFRESH


def test_a_backoff_past_expiry_is_pulled_in_to_one_last_attempt():
    """When the backoff would skip past expiry, one attempt is still made final_attempt_lead before it."""
    failed_at = T0 + 60 * D - 5 * H
    state = long_token(
        failure_count=9, last_failure_at=failed_at, next_attempt_at=after_failure(9, failed_at)
    )
    decision = plan(state, failed_at)
    assert (decision.action, decision.next_check_at) == (Action.WAIT, T0 + 60 * D - H)
    assert plan(state, T0 + 60 * D - H).action == Action.REFRESH


def test_after_the_last_attempt_fails_the_token_is_left_to_lapse():
    """A failure at the last chance is not retried in a loop; the token lapses, then re-authorize."""
    failed_at = T0 + 60 * D - H
    state = long_token(
        failure_count=10, last_failure_at=failed_at, next_attempt_at=after_failure(10, failed_at)
    )
    decision = plan(state, failed_at + timedelta(minutes=1))
    assert (decision.action, decision.next_check_at) == (Action.WAIT, T0 + 60 * D)
    assert plan(state, T0 + 60 * D).action == Action.REAUTHORIZE


def test_backoff_honours_metas_wait_hint_up_to_the_cap():
    """retry_after is a floor on the backoff, capped at retry_after_cap."""
    assert T0 + timedelta(minutes=5) == after_failure(1, T0, None)
    assert after_failure(1, T0, 7200) == T0 + 2 * H
    assert after_failure(5, T0, 60) == T0 + 12 * H
    assert after_failure(1, T0, timedelta(days=30)) == T0 + D


def test_warnings_fire_once_per_threshold_and_only_the_tightest_when_several_are_crossed():
    """A worker that was down for a week announces 3 days, not 14, 7 and 3."""
    now = T0 + 58 * D
    state = long_token(failure_count=1, last_failure_at=now, next_attempt_at=now + 12 * H)
    first = plan(state, now)
    assert first.warning is not None and first.warning.threshold == 3 * D
    assert first.warning.subject == "token"
    assert first.warning.threshold_days == 3.0
    assert first.warning.expires_at == T0 + 60 * D
    again = plan(TokenState(**{**_fields(state), "last_warned": 3 * D}), now + H)
    assert again.warning is None
    later = plan(TokenState(**{**_fields(state), "last_warned": 3 * D}), T0 + 59 * D + H)
    assert later.warning is not None and later.warning.threshold == D


def test_a_wait_wakes_up_for_the_next_warning_threshold():
    """While waiting on a long backoff, the planner still wakes up when a threshold is crossed."""
    now = T0 + 45 * D
    state = long_token(failure_count=5, last_failure_at=now, next_attempt_at=now + D, last_warned=None)
    decision = plan(state, now)
    assert decision.next_check_at == T0 + 46 * D  # 14 days before expiry
    assert decision.warning is None


def test_a_warning_left_over_from_the_previous_expiry_is_ignored():
    """last_warned from before a refresh does not silence the new expiry's warnings."""
    issued = T0 + 50 * D
    state = long_token(issued=issued, last_warned=D, failure_count=1, last_failure_at=issued + 45 * D,
                       next_attempt_at=issued + 46 * D)  # fmt: skip
    decision = plan(state, issued + 46 * D + H)
    assert decision.warning is not None and decision.warning.threshold == 14 * D


def test_a_page_token_is_checked_not_refreshed():
    """fb_page never expires: it is checked daily with debug_token and never warned about."""
    state = TokenState("p", TokenKind.FB_PAGE, T0, None)
    assert plan(state, T0).action == Action.CHECK
    checked = TokenState("p", TokenKind.FB_PAGE, T0, None, last_checked_at=T0 + 5 * D)
    decision = plan(checked, T0 + 5 * D + H)
    assert (decision.action, decision.next_check_at, decision.warning) == (Action.WAIT, T0 + 6 * D, None)
    assert plan(checked, T0 + 6 * D).action == Action.CHECK


def test_a_user_token_warns_about_data_access_expiry_first():
    """For fb_user the earlier of expiry and data-access expiry drives warnings and re-authorization."""
    state = TokenState("u", TokenKind.FB_USER, T0, T0 + 60 * D, last_checked_at=T0 + 20 * D,
                       data_access_expires_at=T0 + 25 * D)  # fmt: skip
    decision = plan(state, T0 + 20 * D + H)
    assert decision.action == Action.WAIT
    assert decision.warning is not None
    assert (
        decision.warning.subject,
        decision.warning.threshold,
        decision.warning.expires_at,
    ) == ("data_access", 7 * D, T0 + 25 * D)
    gone = plan(state, T0 + 25 * D)
    assert gone.action == Action.REAUTHORIZE
    assert "data access" in gone.reason


def test_naive_datetimes_are_rejected():
    """A naive time is ambiguous; igtoken only deals in aware UTC."""
    with pytest.raises(ValueError, match="timezone-aware"):
        plan(long_token(), datetime(2026, 3, 2))  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone-aware"):
        TokenState("a", TokenKind.IG_LONG, datetime(2026, 3, 2), None)  # noqa: DTZ001


def test_inconsistent_states_are_rejected():
    """States the vault cannot legitimately hold fail loudly, with the field named."""
    with pytest.raises(ValueError, match="expires_at must be later"):
        long_token(life=-H)
    with pytest.raises(ValueError, match="last_failure_at is required"):
        long_token(failure_count=2)
    with pytest.raises(ValueError, match="account_id"):
        TokenState("", TokenKind.IG_LONG, T0, None)
    with pytest.raises(ValueError, match="kind"):
        TokenState("a", "ig_long", T0, None)  # type: ignore[arg-type]


def test_state_of_an_access_token_never_holds_its_value():
    """TokenState.of copies the lifecycle facts and leaves the secret behind."""
    token = AccessToken(Secret("IGAAsecretvalue123456"), TokenKind.IG_LONG, T0, T0 + 60 * D)
    state = TokenState.of(token, "17841400000000001", failure_count=0)
    assert (state.kind, state.issued_at, state.expires_at) == (TokenKind.IG_LONG, T0, T0 + 60 * D)
    assert "IGAAsecretvalue123456" not in repr(state)


def _fields(state):
    return {name: getattr(state, name) for name in TokenState.__slots__}


def test_scheduled_state_places_the_last_failure_one_backoff_step_before_the_next_attempt():
    """The vault keeps the next attempt's time; the planner's facts put the failure one backoff
    step before it, so the worker and ``igtoken refresh --dry-run`` see the same history."""
    retry_at = T0 + 20 * D
    state = scheduled_state(
        "17841400000000001", TokenKind.IG_LONG, T0, T0 + 60 * D,
        failure_count=2, next_refresh_at=retry_at, now=T0 + 19 * D, policy=POLICY,
    )  # fmt: skip
    assert state.last_failure_at == retry_at - POLICY.backoff(2)
    assert state.next_attempt_at == retry_at and state.failure_count == 2
    unscheduled = scheduled_state(
        "17841400000000001", TokenKind.IG_LONG, T0, T0 + 60 * D,
        failure_count=1, next_refresh_at=None, now=T0 + 19 * D,
    )  # fmt: skip
    assert unscheduled.last_failure_at == T0 + 19 * D
    fresh = scheduled_state(
        "17841400000000001", TokenKind.IG_LONG, T0, T0 + 60 * D,
        failure_count=0, next_refresh_at=None, now=T0 + D,
    )  # fmt: skip
    assert fresh.last_failure_at is None


def test_scheduled_state_reads_an_expiry_not_after_issue_as_none():
    """An expiry at or before the issue time is no expiry, as the worker has always read it."""
    state = scheduled_state(
        "1", TokenKind.FB_PAGE, T0, T0, failure_count=0, next_refresh_at=None, now=T0,
        data_access_expires_at=T0 + 90 * D,
    )  # fmt: skip
    assert state.expires_at is None and state.data_access_expires_at == T0 + 90 * D
