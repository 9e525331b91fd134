"""Issue 20: one "token is dead" path, under the lease rules.

What counts as dead (190 with 458, 459, 460, 463, 464, 467, 492, 493 or no subcode; 102; an expiry),
what never does (throttles, transient faults, other errors), and ``Refresher.token_dead`` — the
step a component that used a token itself (Graph proxy, doctor, token API) calls — respecting a
refresh in flight: it waits for the lease holder, and marks nothing when the token was replaced.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import timedelta

import pytest

from igtoken.core.exceptions import (
    InvalidRequestError,
    NeedsReauthorizationError,
    PermissionDeniedError,
    ThrottledError,
    TokenExpiredError,
    TransientError,
    TransportError,
)
from igtoken.refresh.outcomes import DEAD_TOKEN_SUBCODES, Outcome, classify, token_is_dead
from igtoken.vault import AccountStatus, EventType
from tests.support.fleet import PUBLIC_URL, Rig, seed_fleet


def reauth(code: int | None, subcode: int | None = None) -> NeedsReauthorizationError:
    return NeedsReauthorizationError("Meta says no", status_code=400, code=code, error_subcode=subcode)


@pytest.mark.parametrize("subcode", [None, *sorted(DEAD_TOKEN_SUBCODES)])
def test_190_with_a_dead_token_subcode_or_none_is_dead(subcode):
    assert {458, 459, 460, 463, 464, 467, 492, 493} == DEAD_TOKEN_SUBCODES
    assert token_is_dead(reauth(190, subcode))
    assert classify(reauth(190, subcode)).outcome is Outcome.NEEDS_REAUTH


@pytest.mark.parametrize(
    "error",
    [
        reauth(190, 999),  # a 190 subcode Meta does not document as the token's end
        ThrottledError("slow down", status_code=400, code=4, retry_after=60),
        ThrottledError("slow down", status_code=400, code=80002),
        TransientError("oops", status_code=500, code=2),
        TransportError("connection reset"),
        InvalidRequestError("bad field", status_code=400, code=100),
        PermissionDeniedError("missing permission", status_code=403, code=10),
        ValueError("a bug"),
    ],
    ids=lambda e: f"{type(e).__name__}-{getattr(e, 'code', None)}-{getattr(e, 'error_subcode', None)}",
)
def test_nothing_else_is_dead(error):
    assert not token_is_dead(error)
    assert classify(error).outcome is not Outcome.NEEDS_REAUTH


def test_102_and_an_expiry_found_locally_are_dead():
    assert token_is_dead(reauth(102))
    assert token_is_dead(NeedsReauthorizationError("status", status_code=0))
    assert token_is_dead(TokenExpiredError("expired yesterday"))


async def test_worker_retries_a_190_with_an_undocumented_subcode_instead_of_marking(rig: Rig):
    (acct,) = seed_fleet(rig.world, rig.vault, 1, now=rig.clock.now(), due_now=True)
    body = {"error": {"message": "odd", "type": "OAuthException", "code": 190, "error_subcode": 999}}
    rig.world.faults.add("ig_refresh_token", "malformed", status=400, body=json.dumps(body), times=1)
    report = await rig.worker.run_once(rig.clock.now())
    assert report.counts == {"error": 1}
    assert rig.vault.get_account(acct.account_id).status is AccountStatus.ACTIVE
    assert rig.vault.current_token(acct.account_id).failure_count == 1


async def test_worker_throttled_keeps_the_account_active(rig: Rig):
    (acct,) = seed_fleet(rig.world, rig.vault, 1, now=rig.clock.now(), due_now=True)
    rig.world.faults.add("ig_refresh_token", "throttle", wait_minutes=3, times=1)
    report = await rig.worker.run_once(rig.clock.now())
    assert report.counts == {"throttled": 1}
    assert rig.vault.get_account(acct.account_id).status is AccountStatus.ACTIVE


async def test_token_dead_marks_with_event_and_link(rig: Rig):
    (acct,) = seed_fleet(rig.world, rig.vault, 1, now=rig.clock.now())
    token_id = rig.vault.current_token(acct.account_id).token_id
    result = await rig.worker.refresher.token_dead(acct.account_id, token_id, reauth(190, 460), source="test")
    assert result is not None and result.outcome is Outcome.NEEDS_REAUTH
    assert result.reauthorize_url and result.reauthorize_url.startswith(f"{PUBLIC_URL}/connect/")
    assert rig.vault.get_account(acct.account_id).status is AccountStatus.NEEDS_REAUTH
    (event,) = rig.vault.events(account_id=acct.account_id, types=[EventType.NEEDS_REAUTH])
    assert event.data["reauthorize_url"] == result.reauthorize_url and event.data["source"] == "test"
    # Said again (a second proxied call racing the first): no second marking.
    again = await rig.worker.refresher.token_dead(acct.account_id, token_id, reauth(190, 460), source="test")
    assert again is not None and again.outcome is Outcome.NEEDS_REAUTH
    assert len(rig.vault.events(account_id=acct.account_id, types=[EventType.NEEDS_REAUTH])) == 1


async def test_token_dead_ignores_errors_that_are_not_a_dead_token(rig: Rig):
    (acct,) = seed_fleet(rig.world, rig.vault, 1, now=rig.clock.now())
    token_id = rig.vault.current_token(acct.account_id).token_id
    throttled = ThrottledError("slow down", status_code=400, code=4)
    assert await rig.worker.refresher.token_dead(acct.account_id, token_id, throttled, source="t") is None
    assert rig.vault.get_account(acct.account_id).status is AccountStatus.ACTIVE


async def test_token_dead_waits_for_a_refresh_in_flight_and_marks_nothing_if_it_replaced_the_token(
    rig: Rig,
):
    """A worker holds the lease and stores a new token while the proxy's 190 (for the old token) arrives:
    the marking waits for the holder, then sees the old token is gone and leaves the account active."""
    (acct,) = seed_fleet(rig.world, rig.vault, 1, now=rig.clock.now())
    old = rig.vault.current_token(acct.account_id)
    claim = rig.vault.claim_account(acct.account_id, now=rig.clock.now(), owner="other-worker")
    marking = asyncio.create_task(
        rig.worker.refresher.token_dead(acct.account_id, old.token_id, reauth(190, 467), source="test")
    )
    await asyncio.sleep(0.1)
    assert not marking.done()  # waiting for the holder, not marking under its feet
    new = dataclasses.replace(old.token, issued_at=rig.clock.now())
    later = rig.clock.now() + timedelta(days=7)
    rig.vault.record_refresh_success(claim, new, now=rig.clock.now(), next_refresh_at=later)
    result = await asyncio.wait_for(marking, 5)
    assert result is not None and result.outcome is not Outcome.NEEDS_REAUTH
    assert rig.vault.get_account(acct.account_id).status is AccountStatus.ACTIVE
    assert rig.vault.events(account_id=acct.account_id, types=[EventType.NEEDS_REAUTH]) == []


async def test_token_dead_marks_after_a_holder_that_left_the_token_in_place(rig: Rig):
    (acct,) = seed_fleet(rig.world, rig.vault, 1, now=rig.clock.now())
    old = rig.vault.current_token(acct.account_id)
    claim = rig.vault.claim_account(acct.account_id, now=rig.clock.now(), owner="other-worker")
    marking = asyncio.create_task(
        rig.worker.refresher.token_dead(acct.account_id, old.token_id, reauth(190, 460), source="test")
    )
    await asyncio.sleep(0.1)
    rig.vault.release(claim)
    result = await asyncio.wait_for(marking, 5)
    assert result is not None and result.outcome is Outcome.NEEDS_REAUTH
    assert rig.vault.get_account(acct.account_id).status is AccountStatus.NEEDS_REAUTH


async def test_a_forced_refresh_right_after_another_holders_joins_it(rig: Rig):
    """Asked for seconds after a worker refreshed the token: that refresh is the answer, Meta is not
    called again; hours later the same ask is Meta's 24-hour rule (left alone, not refreshed)."""
    (acct,) = seed_fleet(rig.world, rig.vault, 1, now=rig.clock.now(), due_now=True)
    report = await rig.worker.run_once(rig.clock.now())
    assert report.counts == {"refreshed": 1}
    calls = len(rig.world.log.entries(endpoint="ig_refresh_token"))
    rig.advance(timedelta(seconds=3))
    joined = await rig.worker.refresher.refresh_account(acct.account_id, force=True)
    assert (joined.outcome, joined.joined) == (Outcome.REFRESHED, True)
    assert len(rig.world.log.entries(endpoint="ig_refresh_token")) == calls
    rig.advance(timedelta(hours=2))
    later = await rig.worker.refresher.refresh_account(acct.account_id, force=True)
    assert later.outcome is not Outcome.REFRESHED and not later.joined
