"""How fast is the pure planner, and what does planning only due accounts save over polling all of them?

Plans a fleet of 2,000 long-lived tokens at arbitrary ages, then runs 30 simulated days both ways:
the baseline plans every account every hour (polling), the planner-driven loop keeps a heap of
``next_check_at`` times and plans an account only when its time has come.
Local, pure, bounded (about 15 seconds). Last line: JSON.
"""

from __future__ import annotations

import heapq
import json
import random
import time
from datetime import UTC, datetime, timedelta

from igtoken._models import TokenKind
from igtoken.refresh import Action, RefreshPolicy, TokenState, next_refresh_at, plan

START = datetime(2026, 1, 1, tzinfo=UTC)
LIFETIME = timedelta(seconds=5_183_944)
ACCOUNTS = 2_000
DAYS = 30


def fleet(rng: random.Random) -> list[TokenState]:
    states = []
    for i in range(ACCOUNTS):
        issued = START - timedelta(minutes=rng.randrange(0, 40 * 24 * 60))
        states.append(TokenState(f"1784140{i:010d}", TokenKind.IG_LONG, issued, issued + LIFETIME))
    return states


def refreshed(state: TokenState, now: datetime, policy: RefreshPolicy) -> TokenState:
    expires = now + LIFETIME
    return TokenState(state.account_id, TokenKind.IG_LONG, now, expires,
                      next_attempt_at=next_refresh_at(now, state.account_id, policy, expires))  # fmt: skip


def run(event_driven: bool) -> tuple[float, int, int]:
    policy = RefreshPolicy()
    states = fleet(random.Random(7))
    queue = [(START, i) for i in range(len(states))]
    calls = refreshes = 0
    began = time.perf_counter()
    for hour in range(DAYS * 24):
        now = START + timedelta(hours=hour)
        if event_driven:
            ready = []
            while queue and queue[0][0] <= now:
                ready.append(heapq.heappop(queue)[1])
        else:
            ready = list(range(len(states)))
        for i in ready:
            decision = plan(states[i], now, policy)
            calls += 1
            if decision.action is Action.REFRESH:
                states[i] = refreshed(states[i], now, policy)
                refreshes += 1
                decision = plan(states[i], now, policy)
                calls += 1
            if event_driven:
                heapq.heappush(queue, (decision.next_check_at or now + timedelta(hours=1), i))
    return time.perf_counter() - began, calls, refreshes


def main() -> None:
    polling_s, polling_calls, polling_refreshes = run(event_driven=False)
    driven_s, driven_calls, driven_refreshes = run(event_driven=True)
    assert polling_refreshes == driven_refreshes, "both loops must refresh the same tokens"
    per_call_us = polling_s / polling_calls * 1e6
    print(f"fleet: {ACCOUNTS} accounts, {DAYS} days, hourly ticks, {driven_refreshes} refreshes")
    print(f"baseline (plan every account every hour): {polling_calls:>9} plan() calls in {polling_s:6.2f} s")
    print(f"planner-driven (plan only when due):      {driven_calls:>9} plan() calls in {driven_s:6.2f} s")
    print(f"plan() cost: {per_call_us:.1f} µs per call; speed-up {polling_s / driven_s:.0f}x")
    print(json.dumps({
        "accounts": ACCOUNTS, "days": DAYS, "refreshes": driven_refreshes,
        "plan_us_per_call": round(per_call_us, 2),
        "baseline_calls": polling_calls, "baseline_seconds": round(polling_s, 3),
        "driven_calls": driven_calls, "driven_seconds": round(driven_s, 3),
        "speedup": round(polling_s / driven_s, 1),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
