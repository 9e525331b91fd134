"""Aggregate figures for ``/metrics``: a fixed number of queries, however many accounts there are.

Each query is a ``GROUP BY`` or an aggregate over an index the vault already keeps
(accounts by status, the due-token index, webhook deliveries by status), so a scrape of a
fleet of 10 accounts and one of 10,000 cost the same number of round trips.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from igtoken.vault._db import Database
from igtoken.vault.models import Account, Token, WebhookDelivery
from igtoken.vault.records import AccountStatus, WebhookStatus

__all__ = ["Inventory", "ops_snapshot"]


@dataclass(frozen=True, slots=True)
class Inventory:
    """What the gauges show at one scrape, in base units (seconds).

    ``expiry_buckets``: (upper bound in seconds, live tokens expiring within it), cumulative, as
    Prometheus histograms are; ``expiry_count``/``expiry_sum_seconds`` cover every live token
    with an expiry. ``overdue_tokens``/``oldest_overdue_seconds``: live tokens past their refresh
    time, and how long the oldest of them has waited. ``webhooks_by_status``: outbound
    deliveries per status.
    """

    accounts_by_status: Mapping[str, int]
    expiry_buckets: Sequence[tuple[float, int]] = ()
    expiry_count: int = 0
    expiry_sum_seconds: float = 0.0
    overdue_tokens: int = 0
    oldest_overdue_seconds: float = 0.0
    webhooks_by_status: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_seconds(
        cls,
        accounts_by_status: Mapping[str, int],
        seconds_to_expiry: Sequence[float],
        bounds: Sequence[float],
    ) -> Inventory:
        """An inventory from each live token's seconds to expiry (tests, small callers)."""
        return cls(
            accounts_by_status=accounts_by_status,
            expiry_buckets=[(b, sum(1 for s in seconds_to_expiry if s <= b)) for b in bounds],
            expiry_count=len(seconds_to_expiry),
            expiry_sum_seconds=float(sum(seconds_to_expiry)),
        )


def ops_snapshot(
    engine: Engine,
    *,
    now: datetime,
    expiry_bounds: Sequence[float],
) -> Inventory:
    """Read the operational figures in four aggregate queries; ``expiry_bounds`` in seconds."""
    db = Database(engine)
    live = sa.and_(Token.is_current.is_(True), Account.status == AccountStatus.ACTIVE.value)
    with db.read() as conn:
        by_status = {
            str(status): int(count)
            for status, count in conn.execute(
                sa.select(Account.status, sa.func.count()).group_by(Account.status)
            )
        }
        expiring = sa.and_(live, Token.expires_at.is_not(None))
        bucket_cols = [
            sa.func.coalesce(
                sa.func.sum(sa.case((Token.expires_at <= now + timedelta(seconds=bound), 1), else_=0)), 0
            )
            for bound in expiry_bounds
        ]
        expiry_row = conn.execute(
            sa.select(sa.func.count(), sa.func.sum(_epoch_seconds(engine)), *bucket_cols)
            .select_from(Token)
            .join(Account, Account.id == Token.account_id)
            .where(expiring)
        ).one()
        count = int(expiry_row[0])
        total_left = float(expiry_row[1] or 0) - count * now.timestamp()
        overdue_count, oldest_due = conn.execute(
            sa.select(sa.func.count(), sa.func.min(Token.next_refresh_at))
            .select_from(Token)
            .join(Account, Account.id == Token.account_id)
            .where(live, Token.next_refresh_at.is_not(None), Token.next_refresh_at <= now)
        ).one()
        webhooks = {
            str(status): int(n)
            for status, n in conn.execute(
                sa.select(WebhookDelivery.status, sa.func.count()).group_by(WebhookDelivery.status)
            )
        }
    for status in WebhookStatus:
        webhooks.setdefault(status.value, 0)
    oldest = 0.0
    if overdue_count and oldest_due is not None:
        oldest = max(0.0, (now - _aware(oldest_due)).total_seconds())
    return Inventory(
        accounts_by_status=by_status,
        expiry_buckets=[(bound, int(n)) for bound, n in zip(expiry_bounds, expiry_row[2:], strict=True)],
        expiry_count=count,
        expiry_sum_seconds=total_left,
        overdue_tokens=int(overdue_count),
        oldest_overdue_seconds=oldest,
        webhooks_by_status=webhooks,
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _epoch_seconds(engine: Engine) -> sa.ColumnElement[float]:
    """``tokens.expires_at`` as epoch seconds (date arithmetic differs between the two databases)."""
    if engine.dialect.name == "postgresql":
        return sa.cast(sa.extract("epoch", Token.expires_at), sa.Float)
    # SQLite stores the instant as UTC text (models.UTCDateTime); strftime('%s') reads it as epoch seconds.
    return sa.cast(sa.func.strftime("%s", Token.expires_at), sa.Float)
