"""RefreshPolicy: defaults, validation, backoff and per-account jitter."""

from __future__ import annotations

from datetime import timedelta

import pytest

from igtoken.core.exceptions import ConfigurationError
from igtoken.refresh import META_MIN_AGE, RefreshPolicy
from igtoken.refresh.policy import retry_after_delta

H = timedelta(hours=1)
D = timedelta(days=1)


def test_defaults_match_the_documented_values():
    """The defaults are the ones docs/refresh.md explains."""
    policy = RefreshPolicy()
    assert timedelta(days=7) == policy.refresh_age
    assert policy.jitter == 12 * H
    assert META_MIN_AGE == policy.min_age == 24 * H
    assert (timedelta(minutes=5), timedelta(minutes=15), H, 4 * H, 12 * H) == policy.failure_backoff
    assert policy.warn_before == (14 * D, 7 * D, 3 * D, D)
    assert policy.page_check_interval == D


def test_min_age_below_metas_24_hours_is_rejected():
    """Meta's 24-hour rule cannot be configured away."""
    with pytest.raises(ConfigurationError, match="24-hour minimum"):
        RefreshPolicy(min_age=23 * H)


def test_min_age_above_24_hours_is_allowed():
    """A stricter minimum age is fine."""
    assert RefreshPolicy(min_age=48 * H, refresh_age=3 * D).min_age == 48 * H


@pytest.mark.parametrize("age", [12 * H, 61 * D])
def test_refresh_age_outside_min_age_and_60_days_is_rejected(age):
    """refresh_age must lie between min_age and the 60-day lifetime."""
    with pytest.raises(ConfigurationError, match="refresh_age"):
        RefreshPolicy(refresh_age=age)


def test_negative_or_oversized_jitter_is_rejected():
    """Jitter is a spread between zero and refresh_age."""
    with pytest.raises(ConfigurationError, match="jitter"):
        RefreshPolicy(jitter=-H)
    with pytest.raises(ConfigurationError, match="jitter"):
        RefreshPolicy(refresh_age=2 * D, jitter=3 * D)


@pytest.mark.parametrize(
    ("schedule", "match"),
    [
        ((), "non-empty"),
        ([H], "non-empty"),
        ((H, timedelta(0)), "non-positive"),
        ((4 * H, H), "must not decrease"),
    ],
)
def test_bad_backoff_schedules_are_rejected(schedule, match):
    """The failure backoff is a non-empty, positive, non-decreasing tuple."""
    with pytest.raises(ConfigurationError, match=match):
        RefreshPolicy(failure_backoff=schedule)


@pytest.mark.parametrize("thresholds", [(D, 7 * D), (7 * D, 7 * D), (7 * D, -D), [7 * D]])
def test_bad_warning_thresholds_are_rejected(thresholds):
    """Warning thresholds are distinct, positive and largest first."""
    with pytest.raises(ConfigurationError, match="warn_before"):
        RefreshPolicy(warn_before=thresholds)


def test_non_timedelta_fields_are_rejected():
    """A number where a duration belongs is an error, not a guess at units."""
    with pytest.raises(ConfigurationError, match="refresh_age must be a timedelta"):
        RefreshPolicy(refresh_age=7)  # type: ignore[arg-type]


def test_tiny_page_check_interval_is_rejected():
    """Checking page tokens more than once a minute would only burn rate limit."""
    with pytest.raises(ConfigurationError, match="page_check_interval"):
        RefreshPolicy(page_check_interval=timedelta(seconds=5))


def test_backoff_follows_the_schedule_and_repeats_its_last_step():
    """The n-th failure waits the n-th step; beyond the schedule the last step repeats."""
    policy = RefreshPolicy()
    assert [timedelta(minutes=5), timedelta(minutes=15), H, 4 * H, 12 * H, 12 * H, 12 * H] == [
        policy.backoff(n) for n in range(1, 8)
    ]
    with pytest.raises(ValueError, match="starts at 1"):
        policy.backoff(0)


def test_jitter_is_stable_per_account_and_differs_between_accounts():
    """The same account always gets the same shift; different accounts get different ones."""
    policy = RefreshPolicy()
    assert policy.jitter_offset("17841400000000001") == policy.jitter_offset("17841400000000001")
    offsets = {policy.jitter_offset(f"acct-{i}") for i in range(200)}
    assert len(offsets) == 200
    assert all(abs(offset) <= policy.jitter for offset in offsets)
    # Spread over both sides of the nominal age, not bunched at one end.
    assert min(offsets) < -policy.jitter / 2 and max(offsets) > policy.jitter / 2


def test_zero_jitter_means_no_shift():
    """With jitter switched off every account refreshes at exactly refresh_age."""
    assert timedelta(0) == RefreshPolicy(jitter=timedelta(0)).jitter_offset("x")


def test_jitter_needs_an_account_id():
    """An empty account id would put every such account on the same slot."""
    with pytest.raises(ValueError, match="account_id"):
        RefreshPolicy().jitter_offset("")


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        (None, None),
        (30, timedelta(seconds=30)),
        (1.5, timedelta(seconds=1.5)),
        (-3, None),
        (float("nan"), None),
        (float("inf"), None),
        (timedelta(minutes=2), timedelta(minutes=2)),
        (timedelta(0), None),
    ],
)
def test_retry_after_hints_are_normalised(hint, expected):
    """Seconds and timedeltas are accepted; missing, negative or non-finite hints mean no hint."""
    assert expected == retry_after_delta(hint)


def test_retry_after_of_the_wrong_type_is_a_type_error():
    """A string hint is a programming error upstream, not something to parse here."""
    with pytest.raises(TypeError, match="retry_after"):
        retry_after_delta("60")  # type: ignore[arg-type]
