"""The refresh worker against the in-process emulator, on a shared frozen clock and a real SQLite vault."""

from __future__ import annotations

from datetime import timedelta

import pytest

from igtoken.core.secret import Secret
from igtoken.refresh.outcomes import Outcome
from igtoken.refresh.usecase import Refresher
from igtoken.refresh.worker import RefreshWorker
from igtoken.vault import AccountStatus, EventType
from tests.support.fleet import PUBLIC_URL, Rig, client_factory, seed_fleet


async def test_due_token_is_refreshed_stored_and_rescheduled(rig: Rig):
    """A due token is refreshed once; the new one is current, the old retired, the next refresh ~7 days on."""
    [acct] = seed_fleet(rig.world, rig.vault, 1, now=rig.clock.now(), due_now=True)
    report = await rig.worker.run_once(rig.clock.now())
    assert report.counts == {"refreshed": 1}
    stored = rig.vault.current_token(acct.account_id)
    assert stored.token.value.reveal() != acct.token_value
    assert stored.token.issued_at == rig.clock.now()
    assert stored.next_refresh_at is not None
    assert timedelta(days=6) < stored.next_refresh_at - rig.clock.now() < timedelta(days=8)
    history = rig.vault.token_history(acct.account_id)
    assert [h.is_current for h in history].count(True) == 1 and len(history) == 2
    assert rig.world.log.entries(endpoint="ig_refresh_token")[0].status == 200
    assert [e.type for e in rig.vault.events(account_id=acct.account_id)][-1] == EventType.REFRESHED
    # Nothing is due any more: a second run claims nothing.
    assert (await rig.worker.run_once(rig.clock.now())).claimed == 0
    assert rig.worker.state.counters["refreshed"] == 1


async def test_token_too_young_is_rescheduled_not_refreshed(rig: Rig):
    """A token under 24 hours old scheduled for now is moved to its 24-hour mark; Meta is not called."""
    [acct] = seed_fleet(
        rig.world, rig.vault, 1, now=rig.clock.now(), ages=(timedelta(hours=2),), due_now=True
    )
    report = await rig.worker.run_once(rig.clock.now())
    assert report.counts == {"rescheduled": 1}
    assert rig.world.log.entries(endpoint="ig_refresh_token") == []
    stored = rig.vault.current_token(acct.account_id)
    assert stored.next_refresh_at == stored.token.issued_at + timedelta(hours=24)


async def test_transient_failure_backs_off_and_throttle_honours_wait_hint(rig: Rig):
    """A 5xx backs off 5 minutes; a throttle with a 90-minute hint waits 90 minutes; neither needs re-auth."""
    a, b = seed_fleet(rig.world, rig.vault, 2, now=rig.clock.now(), due_now=True)
    rig.world.faults.add("ig_refresh_token", "error", status=503, times=1)
    rig.world.faults.add("ig_refresh_token", "throttle", wait_minutes=90, times=1)
    report = await rig.worker.run_once(rig.clock.now())
    outcomes = sorted(r.outcome.value for r in report.results)
    assert outcomes == ["retry", "throttled"]
    by_outcome = {r.outcome: r for r in report.results}
    now = rig.clock.now()
    assert by_outcome[Outcome.RETRY].next_attempt_at == now + timedelta(minutes=5)
    assert by_outcome[Outcome.THROTTLED].next_attempt_at == now + timedelta(minutes=90)
    for acct in (a, b):
        assert rig.vault.get_account(acct.account_id).status is AccountStatus.ACTIVE
        assert rig.vault.current_token(acct.account_id).failure_count == 1
    rig.advance(timedelta(minutes=6))
    assert (await rig.worker.run_once(rig.clock.now())).counts == {"refreshed": 1}
    rig.advance(timedelta(minutes=90))
    assert (await rig.worker.run_once(rig.clock.now())).counts == {"refreshed": 1}
    assert rig.vault.current_token(a.account_id).failure_count == 0


async def test_slow_call_times_out_and_is_retried_later(tmp_path):
    """A call slower than call_timeout is abandoned (its lease kept alive meanwhile) and retried later."""
    rig = Rig(tmp_path, call_timeout=0.3, lease_seconds=0.15)
    try:
        [acct] = seed_fleet(rig.world, rig.vault, 1, now=rig.clock.now(), due_now=True)
        rig.world.faults.add("ig_refresh_token", "slow", delay_seconds=1.0, times=1)
        report = await rig.worker.run_once(rig.clock.now())
        assert report.counts == {"retry": 1}
        assert "timeout" in report.results[0].detail
        rig.advance(timedelta(minutes=5))
        assert (await rig.worker.run_once(rig.clock.now())).counts == {"refreshed": 1}
        assert rig.vault.current_token(acct.account_id).failure_count == 0
    finally:
        await rig.close()


@pytest.mark.parametrize("how", ["revoked", "password_changed"])
async def test_dead_token_needs_reauth_with_event_and_link(rig: Rig, how: str):
    """A revoked or password-invalidated token (190) makes the account needs_reauth, with event and link."""
    dead, alive = seed_fleet(rig.world, rig.vault, 2, now=rig.clock.now(), due_now=True)
    if how == "revoked":
        rig.world.revoke_token(dead.token_value)
    else:
        rig.world.change_password(dead.username)
        rig.world.mint_token("990600000000001", "ig_long", alive.username)  # unrelated activity
    report = await rig.worker.run_once(rig.clock.now())
    by_account = {r.account_id: r for r in report.results}
    assert by_account[alive.account_id].outcome is Outcome.REFRESHED  # one bad token never aborts a batch
    result = by_account[dead.account_id]
    assert result.outcome is Outcome.NEEDS_REAUTH
    assert rig.vault.get_account(dead.account_id).status is AccountStatus.NEEDS_REAUTH
    [event] = rig.vault.events(account_id=dead.account_id, types=[EventType.NEEDS_REAUTH])
    link_id = event.data["link_id"]
    # An absolute URL on the public URL, carrying the link's code (not its row id): it opens the link.
    url = event.data["reauthorize_url"]
    assert url == result.reauthorize_url and url.startswith(f"{PUBLIC_URL}/connect/")
    code = url.rsplit("/", 1)[1]
    assert code != link_id
    assert event.data["error_code"] == 190
    link = rig.vault.links.get(Secret(code))
    assert link.id == link_id and link.account_id == dead.account_id and link.is_usable(rig.clock.now())
    # No more attempts: the account is out of the worker's hands until someone logs in again.
    rig.advance(timedelta(days=30))
    later = await rig.worker.run_once(rig.clock.now())
    assert dead.account_id not in {r.account_id for r in later.results}
    assert len(rig.world.log.entries(endpoint="ig_refresh_token", status=400)) == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"concurrency": 0}, "concurrency and batch_size"),
        ({"batch_size": 0}, "concurrency and batch_size"),
        ({"poll_interval": 0}, "poll_interval and max_outage"),
        ({"max_outage": -1}, "poll_interval and max_outage"),
    ],
)
def test_the_worker_refuses_settings_it_could_not_run_with(rig: Rig, options, message):
    """A worker with no call slot, no claim size or no pause is refused when built, not at the first tick."""
    with pytest.raises(ValueError, match=message):
        RefreshWorker(rig.worker.refresher, **options)


@pytest.mark.parametrize("options", [{"lease_seconds": 0}, {"call_timeout": -1}])
def test_the_refresh_use_case_refuses_a_lease_or_timeout_that_is_not_positive(rig: Rig, options):
    """A lease that has already ended, or a call abandoned before it starts, is refused when built."""
    with pytest.raises(ValueError, match="lease_seconds and call_timeout must be positive"):
        Refresher(rig.worker.vault, client_factory(rig.http), clock=rig.clock.now, owner="t", **options)


async def test_the_worker_stores_through_its_refresher_in_batches(rig: Rig):
    """The worker takes its vault, clock and lease owner from the refresh use case it wraps, and
    switches that use case's store to its group commit: a refresh it runs is stored in a batch."""
    assert (rig.worker.vault, rig.worker.owner) == (rig.worker.refresher.vault, rig.worker.refresher.owner)
    seed_fleet(rig.world, rig.vault, 3, now=rig.clock.now(), due_now=True)
    report = await rig.worker.run_once(rig.clock.now())
    assert report.counts == {"refreshed": 3}
    assert rig.worker.store.items == 3 and 1 <= rig.worker.store.batches <= 3
