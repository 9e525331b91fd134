"""Revoked dashboard sessions and the Graph proxy's throttles in the vault (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from igtoken.vault import Vault

from .conftest import T0


def test_revoke_and_check(vault: Vault) -> None:
    sessions = vault.sessions
    assert not sessions.is_revoked("sid-1")
    sessions.revoke("sid-1", now=T0, expires_at=T0 + timedelta(hours=12))
    sessions.revoke("sid-1", now=T0, expires_at=T0 + timedelta(hours=12))  # twice is fine
    assert sessions.is_revoked("sid-1") and not sessions.is_revoked("sid-2")
    with vault.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT digest FROM revoked_sessions")).scalars().all()
    assert stored and "sid-1" not in stored[0]


def test_expired_records_go_and_already_expired_ones_are_not_kept(vault: Vault) -> None:
    sessions = vault.sessions
    sessions.revoke("old", now=T0, expires_at=T0 + timedelta(hours=1))
    sessions.revoke("stale", now=T0, expires_at=T0)
    assert not sessions.is_revoked("stale")
    sessions.revoke("new", now=T0 + timedelta(hours=2), expires_at=T0 + timedelta(hours=14))
    with vault.engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM revoked_sessions")).scalar_one()
    assert count == 1 and sessions.is_revoked("new") and not sessions.is_revoked("old")


def test_proxy_throttle_holds_until_the_latest_time(vault: Vault) -> None:
    throttles = vault.throttles
    assert throttles.remaining("acc1", now=T0) is None
    throttles.hold("acc1", until=T0 + timedelta(minutes=5), now=T0)
    throttles.hold("acc1", until=T0 + timedelta(minutes=2), now=T0)  # an earlier hold does not shorten it
    assert throttles.remaining("acc1", now=T0) == 300
    assert throttles.remaining("acc2", now=T0) is None
    throttles.hold("acc1", until=T0 + timedelta(minutes=9), now=T0)
    assert throttles.remaining("acc1", now=T0 + timedelta(minutes=1)) == 480
    assert throttles.remaining("acc1", now=T0 + timedelta(minutes=9)) is None
    throttles.hold("acc2", until=T0 + timedelta(hours=1), now=T0 + timedelta(minutes=10))
    with vault.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT account_id FROM proxy_throttles")).scalars().all()
    assert rows == ["acc2"]  # the past hold went on the way


def test_rate_buckets_take_refill_and_forget(vault: Vault) -> None:
    buckets = vault.rate_buckets

    def take(client: str = "203.0.113.9", minutes: float = 0) -> float | None:
        return buckets.take("signin", client, per_minute=2, burst=2, now=T0 + timedelta(minutes=minutes))

    assert take() is None and take() is None
    assert take() == 30  # one token every 30 s
    assert take("198.51.100.1") is None  # another address, another bucket
    assert take(minutes=0.5) is None  # refilled one
    assert take(minutes=0.5) == 30
    take("192.0.2.1", minutes=120)  # an hour later, the untouched rows are gone
    with vault.engine.connect() as conn:
        clients = conn.execute(sa.text("SELECT client FROM rate_buckets")).scalars().all()
    assert clients == ["192.0.2.1"]
