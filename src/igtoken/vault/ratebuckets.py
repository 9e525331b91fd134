"""Token buckets in the database, for the rate limits every service instance must share.

An in-memory limiter multiplies its limit by the number of replicas: with three instances
behind a load balancer, a password guesser gets three times the attempts. The sign-in
limit is kept here instead, one row per (group, client address), taken in one write
transaction (row-locked on PostgreSQL, the write lock on SQLite), so the instances count
together. Rows not touched for an hour are dropped on the way (every bucket has refilled
by then), so a flood of addresses does not grow the table for good.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa

from igtoken.vault._db import Database
from igtoken.vault.models import RateBucket

__all__ = ["RateBuckets"]

_FORGET_AFTER: Final = timedelta(hours=1)
_MAX_CLIENT: Final = 64


class RateBuckets:
    """Shared token buckets: ``per_minute`` on average, ``burst`` at once, per (group, client)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def take(self, group: str, client: str, *, per_minute: float, burst: int, now: datetime) -> float | None:
        """Spend one token; ``None`` if allowed, else the seconds until one is available."""
        client = client[:_MAX_CLIENT]
        rate = per_minute / 60.0
        where = (RateBucket.group == group) & (RateBucket.client == client)
        with self._db.write() as conn:
            conn.execute(sa.delete(RateBucket).where(RateBucket.updated < now - _FORGET_AFTER))
            conn.execute(
                self._db.insert(RateBucket)
                .values(group=group, client=client, tokens=float(burst), updated=now)
                .on_conflict_do_nothing(index_elements=["group", "client"])
            )
            select = sa.select(RateBucket.tokens, RateBucket.updated).where(where)
            if self._db.is_postgres:
                select = select.with_for_update()
            tokens, updated = conn.execute(select).one()
            elapsed = max(0.0, (now - updated).total_seconds())
            tokens = min(float(burst), tokens + elapsed * rate)
            wait = None if tokens >= 1.0 else (1.0 - tokens) / rate
            if wait is None:
                tokens -= 1.0
            conn.execute(sa.update(RateBucket).where(where).values(tokens=tokens, updated=max(now, updated)))
        return wait
