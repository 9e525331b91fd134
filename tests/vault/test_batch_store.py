"""Storing several finished refreshes in one transaction: each lease checked, nothing half-written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa

from igtoken.core.secret import Secret
from igtoken.vault import Claim, EventType, FinishedRefresh, Vault

from .conftest import T0, token

Connect = Callable[..., str]
LATER = T0 + timedelta(minutes=1)


def finished(claim: Claim, value: str) -> FinishedRefresh:
    return FinishedRefresh(
        claim, token(value, at=LATER), LATER, LATER + timedelta(days=30), {"trigger": "schedule"}
    )


def three_claims(vault: Vault, connect: Connect, lease_seconds: float = 120) -> list[Claim]:
    for n in range(3):
        connect(f"t-old-{n}", user_id=f"300{n}", next_refresh_at=T0)
    claims = vault.claim_due(now=T0, owner="w1", lease_seconds=lease_seconds)
    assert len(claims) == 3
    return sorted(claims, key=lambda c: c.token.value.reveal())


def count_commits(vault: Vault) -> list[int]:
    commits = [0]

    def on_commit(conn: sa.Connection) -> None:
        commits[0] += 1

    sa.event.listen(vault.engine, "commit", on_commit)
    return commits


def test_batch_writes_every_row_and_event_in_one_transaction(vault: Vault, connect: Connect) -> None:
    """Three refreshes, one commit: each new token current with its schedule, the old ones retired and
    their leases gone, one ``refreshed`` event each carrying the new row id and the details."""
    claims = three_claims(vault, connect)
    commits = count_commits(vault)
    ids = vault.record_refresh_successes([finished(c, f"t-new-{n}") for n, c in enumerate(claims)])
    assert commits == [1]
    assert all(ids) and len(set(ids)) == 3
    for n, (claim, token_id) in enumerate(zip(claims, ids, strict=True)):
        stored = vault.current_token(claim.account_id)
        assert (stored.token_id, stored.token.value) == (token_id, Secret(f"t-new-{n}"))
        assert stored.last_refreshed_at == LATER and stored.next_refresh_at == LATER + timedelta(days=30)
        assert [h.is_current for h in vault.token_history(claim.account_id)] == [True, False]
        (event,) = vault.events(account_id=claim.account_id, types=[EventType.REFRESHED])
        assert event.data["token_id"] == token_id and event.data["trigger"] == "schedule"
    assert vault.claim_due(now=LATER + timedelta(days=1), owner="w2") == []  # no lease left, none due
    assert vault.record_refresh_successes([]) == []


def test_a_lost_lease_in_the_batch_is_skipped_the_others_stored(vault: Vault, connect: Connect) -> None:
    """The middle claim's lease ran out and another holder took it: that item is not written (its old
    token stays current, the new holder's lease intact), the two others are."""
    claims = three_claims(vault, connect, lease_seconds=30)
    mine = [vault.extend_lease(c, now=T0, lease_seconds=600) for c in (claims[0], claims[2])]
    theirs = vault.claim_account(claims[1].account_id, now=T0 + timedelta(seconds=31), owner="w2")
    batch = [finished(mine[0], "t-new-0"), finished(claims[1], "t-late"), finished(mine[1], "t-new-2")]
    ids = vault.record_refresh_successes(batch)
    assert ids[0] is not None and ids[1] is None and ids[2] is not None
    lost = claims[1].account_id
    assert vault.current_token(lost).token.value == Secret("t-old-1")
    assert len(vault.token_history(lost)) == 1
    assert vault.events(account_id=lost, types=[EventType.REFRESHED]) == []
    assert vault.current_token(claims[0].account_id).token.value == Secret("t-new-0")
    assert vault.current_token(claims[2].account_id).token.value == Secret("t-new-2")
    # The holder that has the lease now can still store its own result.
    later = LATER + timedelta(seconds=5)
    vault.record_refresh_success(theirs, token("t-theirs", at=later), now=later, next_refresh_at=None)
    assert vault.current_token(lost).token.value == Secret("t-theirs")


def test_a_deleted_account_in_the_batch_is_skipped(vault: Vault, connect: Connect) -> None:
    """An account deleted while its refresh was in flight took its lease with it; the others are stored."""
    claims = three_claims(vault, connect)
    vault.delete_account_data(claims[0].account_id, now=T0)
    ids = vault.record_refresh_successes([finished(c, f"t-new-{n}") for n, c in enumerate(claims)])
    assert ids[0] is None and ids[1] is not None and ids[2] is not None
    assert vault.current_token(claims[1].account_id).token.value == Secret("t-new-1")


def test_a_crash_mid_batch_leaves_nothing_half_written(vault: Vault, connect: Connect) -> None:
    """The database failing on the batch's last statement (the events) rolls everything back: old tokens
    current, no new rows, no event, the leases still held, so the same claims store fine afterwards."""
    claims = three_claims(vault, connect)

    def fail_on_events(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT INTO EVENTS"):
            raise RuntimeError("injected crash")

    sa.event.listen(vault.engine, "before_cursor_execute", fail_on_events)
    try:
        with pytest.raises(RuntimeError, match="injected"):
            vault.record_refresh_successes([finished(c, f"t-new-{n}") for n, c in enumerate(claims)])
    finally:
        sa.event.remove(vault.engine, "before_cursor_execute", fail_on_events)
    for n, claim in enumerate(claims):
        assert vault.current_token(claim.account_id).token.value == Secret(f"t-old-{n}")
        assert len(vault.token_history(claim.account_id)) == 1
        assert vault.events(account_id=claim.account_id, types=[EventType.REFRESHED]) == []
    assert vault.claim_due(now=T0 + timedelta(seconds=1), owner="w2") == []  # leases still held
    assert all(vault.record_refresh_successes([finished(c, f"t-new-{n}") for n, c in enumerate(claims)]))


def test_an_exchanged_token_of_a_new_kind_retires_the_current_one_of_that_kind(
    vault: Vault, connect: Connect
) -> None:
    """A claimed short-lived token exchanged for a long-lived one: one current long-lived token after."""
    from igtoken.core.models import TokenKind

    account_id = connect("t-long-old", next_refresh_at=None)
    vault.store_token(account_id, token("t-short", kind=TokenKind.IG_SHORT), now=T0, next_refresh_at=T0)
    (claim,) = vault.claim_due(now=T0, owner="w1")
    assert claim.token.kind is TokenKind.IG_SHORT
    (token_id,) = vault.record_refresh_successes([finished(claim, "t-long-new")])
    stored = vault.current_token(account_id, TokenKind.IG_LONG)
    assert (stored.token_id, stored.token.value) == (token_id, Secret("t-long-new"))
    assert [h.is_current for h in vault.token_history(account_id, TokenKind.IG_LONG)].count(True) == 1
    with pytest.raises(Exception, match="no current token"):
        vault.current_token(account_id, TokenKind.IG_SHORT)
