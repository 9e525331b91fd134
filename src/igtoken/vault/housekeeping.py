"""Pruning what the vault no longer needs: one pass, a count per table.

Left alone, every ``GET /connect/{code}/authorize`` added an OAuth state row for good, and
spent links, replay records, sign-outs, throttles, rate buckets and delivered webhooks
piled up the same way. :func:`prune` deletes, in one short transaction per table:

- OAuth states past their expiry (15 minutes after they were made);
- connect links finished for longer than ``keep`` (expired, revoked, or used as often as
  allowed): the dashboard lists recent ones, old ones are noise;
- replay records, revoked sessions and proxy throttles past their expiry;
- rate buckets untouched for an hour (every bucket has refilled by then);
- webhook deliveries delivered longer than ``keep`` ago (failed ones stay for the operator).

The account audit trail (``events``) is never pruned here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa

from igtoken.vault._db import Database
from igtoken.vault.models import (
    ConnectLink,
    OAuthState,
    ProxyThrottle,
    RateBucket,
    RevokedSession,
    SeenSignedRequest,
    WebhookDelivery,
)
from igtoken.vault.records import WebhookStatus

__all__ = ["DEFAULT_KEEP", "prune"]

#: How long finished links and delivered webhooks are kept.
DEFAULT_KEEP: Final = timedelta(days=30)
_BUCKET_IDLE: Final = timedelta(hours=1)


def prune(db: Database, *, now: datetime, keep: timedelta = DEFAULT_KEEP) -> dict[str, int]:
    """Delete what is no longer needed; how many rows went, by table."""
    old = now - keep
    finished_link = sa.or_(
        ConnectLink.expires_at < old,
        ConnectLink.revoked_at < old,
        sa.and_(
            ConnectLink.max_uses.is_not(None),
            ConnectLink.uses >= ConnectLink.max_uses,
            ConnectLink.used_at < old,
        ),
    )
    statements: dict[str, sa.Delete] = {
        "oauth_states": sa.delete(OAuthState).where(OAuthState.expires_at < now),
        "connect_links": sa.delete(ConnectLink).where(finished_link),
        "seen_signed_requests": sa.delete(SeenSignedRequest).where(SeenSignedRequest.expires_at <= now),
        "revoked_sessions": sa.delete(RevokedSession).where(RevokedSession.expires_at <= now),
        "proxy_throttles": sa.delete(ProxyThrottle).where(ProxyThrottle.until <= now),
        "rate_buckets": sa.delete(RateBucket).where(RateBucket.updated < now - _BUCKET_IDLE),
        "webhook_deliveries": sa.delete(WebhookDelivery).where(
            WebhookDelivery.status == WebhookStatus.DELIVERED.value, WebhookDelivery.delivered_at < old
        ),
    }
    counts: dict[str, int] = {}
    for table, statement in statements.items():
        with db.write() as conn:
            counts[table] = int(conn.execute(statement).rowcount or 0)
    return counts
