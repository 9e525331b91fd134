"""The /metrics inventory: a fixed number of aggregate queries, whatever the fleet's size."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from igtoken.vault import Vault
from igtoken.vault.stats import ops_snapshot

T0_PLUS = timedelta(days=59)
DAY = 86400.0


@contextmanager
def counting(engine: sa.Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def _fleet(connect: Callable[..., str], n: int) -> list[str]:
    return [connect(f"IGAAtoken-{i:04d}", user_id=f"178414{i:011d}") for i in range(n)]


@pytest.mark.parametrize("accounts", [10, 200])
def test_a_scrape_costs_the_same_queries_at_10_and_200_accounts(
    vault: Vault, connect: Callable[..., str], accounts: int
) -> None:
    """Four aggregate statements per snapshot, however many accounts there are."""
    _fleet(connect, accounts)
    now = vault.current_token(vault.list_accounts()[0].id).token.issued_at + T0_PLUS
    with counting(vault.engine) as statements:
        snap = ops_snapshot(vault.engine, now=now, expiry_bounds=(DAY, 7 * DAY))
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 4, selects
    assert snap.accounts_by_status == {"active": accounts}
    assert snap.expiry_count == accounts
    assert snap.expiry_buckets == [(DAY, accounts), (7 * DAY, accounts)]


def test_snapshot_reports_the_backlog_and_seconds_left(vault: Vault, connect: Callable[..., str]) -> None:
    """Overdue tokens and the oldest one's wait; seconds to expiry summed; webhooks by status."""
    first = vault.current_token(connect()).token
    due = first.issued_at + timedelta(days=30)
    account = connect("IGAAtoken-bob-1", user_id="17841400000000002", next_refresh_at=due)
    stored = vault.current_token(account)
    assert stored.next_refresh_at == due and stored.token.expires_at is not None
    now = due + timedelta(hours=3)
    vault.webhooks.enqueue("token.refreshed", "https://hooks.test/x", {"a": 1}, now=now)
    snap = ops_snapshot(vault.engine, now=now, expiry_bounds=(DAY,))
    assert snap.overdue_tokens == 1
    assert snap.oldest_overdue_seconds == pytest.approx(3 * 3600, abs=1)
    assert snap.webhooks_by_status["pending"] == 1
    assert snap.webhooks_by_status["delivered"] == 0
    expected_left = 2 * (stored.token.expires_at - now).total_seconds()
    assert snap.expiry_sum_seconds == pytest.approx(expected_left, abs=2)
    before = ops_snapshot(vault.engine, now=due - timedelta(seconds=1), expiry_bounds=())
    assert before.overdue_tokens == 0 and before.oldest_overdue_seconds == 0
