"""90 days of 1,000 accounts: real worker, vault and emulator on one stepped clock, faults or not."""

from __future__ import annotations

import itertools
import math
from datetime import timedelta

import pytest
import sqlalchemy as sa

from igtoken.refresh.outcomes import Outcome
from igtoken.vault import AccountStatus, EventType
from tests.support.fleet import Rig, seed_fleet

ACCOUNTS = 1000
DAYS = 90
STEP = timedelta(hours=12)


def count_current(rig: Rig, condition: str) -> int:
    """How many current tokens meet an SQL ``condition`` on ``:now`` (sizes faults, finds lapses)."""
    with rig.vault.engine.connect() as conn:
        query = sa.text(f"SELECT count(*) FROM tokens WHERE is_current AND {condition}")  # noqa: S608 - test constants
        return int(conn.execute(query, {"now": rig.clock.now()}).scalar_one())


async def simulate(rig: Rig, *, faults: bool) -> dict[str, int]:
    """Step the clock through 90 days, running the worker at each step; returns outcome totals."""
    start = rig.clock.now()
    ages = [timedelta(hours=25) + timedelta(hours=i * 3) for i in range(48)]  # 25 h .. ~6.9 days old
    fleet = seed_fleet(rig.world, rig.vault, ACCOUNTS, now=start, ages=ages)
    totals: dict[str, int] = {}
    step = 0
    while rig.clock.now() - start < timedelta(days=DAYS):
        rig.advance(STEP)
        step += 1
        if faults:
            due = count_current(rig, "next_refresh_at <= :now")
            if due:
                rig.world.faults.remove()
                rig.world.faults.add("ig_refresh_token", "error", status=500, times=math.ceil(due * 0.2))
                if step % 5 == 0:
                    rig.world.faults.add("ig_refresh_token", "throttle", wait_minutes=120, times=10)
                if step % 30 == 0:
                    rig.world.faults.add("ig_refresh_token", "timeout", delay_seconds=0.5, times=3)
        # Retries come due within the step (backoff starts at 5 minutes): run the worker through it.
        for minutes in (0, 10, 30, 90, 150) if faults else (0,):
            at = rig.clock.now() + timedelta(minutes=minutes)
            report = await rig.worker.run_once(at)
            for key, value in report.counts.items():
                totals[key] = totals.get(key, 0) + value
        # No current token has expired, or will before the next step.
        assert count_current(rig, "expires_at <= :now") == 0
    rig.world.faults.remove()
    end = rig.clock.timestamp()
    for account in fleet:
        assert rig.vault.get_account(account.account_id).status is AccountStatus.ACTIVE
        current = rig.vault.current_token(account.account_id)
        assert rig.world.token_problem(rig.world.tokens[current.token.value.reveal()], end) is None
        # The chain of tokens never had a gap: each was replaced before it expired.
        history = sorted(rig.vault.token_history(account.account_id), key=lambda t: t.issued_at)
        assert len(history) >= 12
        for older, newer in itertools.pairwise(history):
            assert older.expires_at is not None and newer.issued_at < older.expires_at
    assert rig.vault.events(types=[EventType.NEEDS_REAUTH, EventType.EXPIRING]) == []
    return totals


@pytest.mark.slow
async def test_ninety_days_of_a_thousand_accounts_all_stay_valid(rig: Rig):
    """With Meta healthy, every token is refreshed about weekly and none ever lapses or warns."""
    totals = await simulate(rig, faults=False)
    assert set(totals) == {Outcome.REFRESHED.value}
    assert totals["refreshed"] >= ACCOUNTS * 12


@pytest.mark.slow
async def test_ninety_days_with_faults_every_token_still_refreshed(rig: Rig):
    """With 20% 5xx, throttles with a wait hint and timeouts, nothing lapses and nobody needs re-auth."""
    totals = await simulate(rig, faults=True)
    assert totals["retry"] > ACCOUNTS  # the faults really happened
    assert totals["throttled"] > 0
    assert totals.get(Outcome.NEEDS_REAUTH.value, 0) == 0
    assert totals.get(Outcome.ERROR.value, 0) == 0
    assert totals["refreshed"] >= ACCOUNTS * 12
