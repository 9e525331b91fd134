"""A 90-day fleet simulation: the planner driven by a fake clock against Meta's rules, modelled inline.

No network and no worker: each hour, every account whose ``next_check_at`` has come is planned,
and the decision is carried out against a few lines that model Meta's refresh endpoint
(``reference/instagram-platform.md`` §1.7). Meta rejecting a call is a test failure, because
the planner should never ask for one that breaks the rules.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from igtoken.core.models import TokenKind
from igtoken.refresh import Action, RefreshPolicy, TokenState, after_failure, next_refresh_at, plan

START = datetime(2026, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
META_LIFETIME = timedelta(seconds=5_183_944)  # what Meta's refresh returns as expires_in


@dataclass
class Row:
    """One account's token row, as a worker would keep it."""

    account_id: str
    joined_at: datetime
    issued_at: datetime
    expires_at: datetime
    failure_count: int = 0
    last_failure_at: datetime | None = None
    next_attempt_at: datetime | None = None
    last_warned: timedelta | None = None
    next_check_at: datetime = START
    reauth: bool = False
    refresh_ages: list[timedelta] = field(default_factory=list)

    def state(self) -> TokenState:
        return TokenState(
            account_id=self.account_id,
            kind=TokenKind.IG_LONG,
            issued_at=self.issued_at,
            expires_at=self.expires_at,
            failure_count=self.failure_count,
            last_failure_at=self.last_failure_at,
            next_attempt_at=self.next_attempt_at,
            last_warned=self.last_warned,
        )


class MetaRejected(AssertionError):
    """Meta would have refused the refresh: the planner broke a rule."""


def meta_refresh(row: Row, now: datetime) -> None:
    """Meta's refresh endpoint: long-lived, at least 24 hours old, not expired; 60 more days from now."""
    if now - row.issued_at < timedelta(hours=24):
        raise MetaRejected(f"{row.account_id}: refresh at age {now - row.issued_at}")
    if now >= row.expires_at:
        raise MetaRejected(f"{row.account_id}: refresh of an expired token")
    row.issued_at, row.expires_at = now, now + META_LIFETIME


def simulate(*, accounts, days, failure_rate, seed=5, policy=None):
    policy = policy or RefreshPolicy()
    rng = random.Random(seed)
    rows = []
    for i in range(accounts):
        if i % 5 < 3:  # most accounts already connected, with tokens of any age up to 45 days
            issued = START - timedelta(minutes=rng.randrange(0, 45 * 24 * 60))
            joined = START
        else:  # the rest log in over the period
            joined = issued = START + timedelta(minutes=rng.randrange(0, (days - 1) * 24 * 60))
        rows.append(Row(f"1784140{i:010d}", joined, issued, issued + META_LIFETIME, next_check_at=joined))
    warnings, attempts, failures = [], 0, 0
    for step in range(days * 24 + 1):
        now = START + step * H
        for row in rows:
            if row.joined_at > now or row.reauth or row.next_check_at > now:
                continue
            for _ in range(3):  # act, then plan again right away to learn the next check
                decision = plan(row.state(), now, policy)
                if decision.warning is not None:
                    warnings.append((row.account_id, decision.warning.threshold, now))
                    row.last_warned = decision.warning.threshold
                if decision.action is Action.REAUTHORIZE:
                    row.reauth = True
                    break
                if decision.action is Action.WAIT:
                    assert decision.next_check_at is not None
                    row.next_check_at = decision.next_check_at
                    break
                assert decision.action is Action.REFRESH
                attempts += 1
                if rng.random() < failure_rate:
                    failures += 1
                    hint = rng.choice([None, None, None, 60.0, 3600.0, 2 * 86400.0])  # some are throttles
                    row.failure_count += 1
                    row.last_failure_at = now
                    row.next_attempt_at = after_failure(row.failure_count, now, hint, policy)
                else:
                    row.refresh_ages.append(now - row.issued_at)
                    meta_refresh(row, now)
                    row.failure_count, row.last_failure_at = 0, None
                    # last_warned is deliberately left as is: the planner must not need a reset.
                    row.next_attempt_at = next_refresh_at(now, row.account_id, policy, row.expires_at)
            else:
                row.next_check_at = now + H
        live = [row for row in rows if row.joined_at <= now]
        dead = [row.account_id for row in live if row.reauth or row.expires_at <= now]
        if failure_rate < 1:
            assert dead == [], f"tokens lapsed at {now}: {dead[:5]}"
    return rows, warnings, attempts, failures


@pytest.mark.parametrize("failure_rate", [0.0, 0.2])
def test_a_thousand_accounts_stay_valid_for_ninety_days(failure_rate):
    """1,000 accounts over 90 days, with 0 % and 20 % transient refresh failures: no token ever lapses."""
    rows, warnings, attempts, failures = simulate(accounts=1000, days=90, failure_rate=failure_rate)
    assert warnings == []  # weeks of slack: a warning would mean the planner cut it too fine
    assert all(not row.reauth for row in rows)
    refreshes = attempts - failures
    assert refreshes >= 1000 * 10  # about one refresh a week per account
    ages = [age for row in rows for age in row.refresh_ages if age < 40 * D]
    assert all(age >= timedelta(hours=24) for age in ages)
    if failure_rate:
        assert failures > 0.15 * attempts
    else:
        # Without failures every refresh of a token we scheduled ourselves lands on 7 days ± 12 hours.
        scheduled = [age for row in rows for age in row.refresh_ages[1:]]
        assert all(6 * D + 12 * H <= age <= 7 * D + 12 * H + H for age in scheduled)


def test_a_fleet_connected_at_once_does_not_refresh_at_once():
    """Accounts that all log in in the same hour spread their refreshes over about a day."""
    policy = RefreshPolicy()
    times = sorted(next_refresh_at(START, f"acct-{i}", policy, START + META_LIFETIME) for i in range(1000))
    assert times[-1] - times[0] > 20 * H
    busiest_hour = max(
        sum(1 for t in times if hour <= t < hour + H)
        for hour in {t.replace(minute=0, second=0, microsecond=0) for t in times}
    )
    assert busiest_hour < 100


def test_when_every_refresh_fails_each_warning_fires_once_and_then_reauthorization():
    """With Meta down for good, warnings go out at 14, 7, 3 and 1 days, once each, then the token lapses."""
    rows, warnings, attempts, failures = simulate(accounts=20, days=70, failure_rate=1.0, seed=1)
    joined_early = [row for row in rows if row.joined_at == START and row.issued_at < START - 20 * D]
    assert joined_early, "the seed should give some accounts with old tokens"
    for row in joined_early:
        thresholds = [threshold for account_id, threshold, _ in warnings if account_id == row.account_id]
        assert thresholds == [14 * D, 7 * D, 3 * D, D]
        assert row.reauth
    assert attempts == failures
    # Backoff caps at 12 hours: at most about two attempts a day per account, plus the last chance.
    assert attempts <= 20 * (70 * 2 + 10)
