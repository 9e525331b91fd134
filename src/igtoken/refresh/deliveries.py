"""A :class:`~igtoken.notify.DeliveryLog` over the vault's ``webhook_deliveries`` table.

Webhook deliveries written here survive restarts: a receiver that is down gets them when it is
back, from whichever worker runs next. Rows are claimed with a lease (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL), so several workers never send one delivery twice at once.

The vault gives each delivery its own id when it is stored; that id (not the one
:func:`~igtoken.notify.deliveries_for` made up) is what ``due`` hands back and what receivers
see in ``X-Igtoken-Delivery``. The endpoint's *name* is kept in the row's ``url`` column.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from igtoken.notify.log import Attempt, Delivery, DeliveryOutcome, DeliveryStatus
from igtoken.vault import Vault, WebhookDeliveryRecord

__all__ = ["VaultDeliveryLog"]


class VaultDeliveryLog:
    """Deliveries in the vault; ``owner`` names the leases this process takes on them."""

    def __init__(self, vault: Vault, *, owner: str, lease_seconds: float = 120.0) -> None:
        self._deliveries = vault.webhooks
        self.owner = owner
        self.lease_seconds = lease_seconds

    def enqueue(self, deliveries: Sequence[Delivery]) -> None:
        """Store new pending deliveries, due at their ``next_attempt_at``."""
        for delivery in deliveries:
            self._deliveries.enqueue(
                delivery.event_type,
                delivery.endpoint,
                json.loads(delivery.body),
                now=delivery.next_attempt_at or delivery.created_at,
            )

    def due(self, now: datetime, limit: int) -> list[Delivery]:
        """Claim (lease) pending deliveries that are due, oldest first."""
        records = self._deliveries.claim(
            now=now, owner=self.owner, limit=limit, lease_seconds=self.lease_seconds
        )
        return [_delivery(r) for r in records]

    def record_attempt(self, attempt: Attempt) -> Delivery:
        """Write down ``attempt`` (this process must still hold the lease) and return the delivery."""
        if attempt.outcome is DeliveryOutcome.DELIVERED:
            record = self._deliveries.record_success(attempt.delivery_id, owner=self.owner, now=attempt.at)
        else:
            error = attempt.error or (f"HTTP {attempt.status_code}" if attempt.status_code else "failed")
            retry_at = attempt.next_attempt_at if attempt.outcome is DeliveryOutcome.RETRY else None
            record = self._deliveries.record_failure(
                attempt.delivery_id, owner=self.owner, now=attempt.at, error=error, next_attempt_at=retry_at
            )
        return _delivery(record, attempt)

    def all(self, limit: int = 1000) -> list[Delivery]:
        """Deliveries, newest first."""
        return [_delivery(r) for r in self._deliveries.list_all(limit=limit)]


def _delivery(record: WebhookDeliveryRecord, attempt: Attempt | None = None) -> Delivery:
    status = DeliveryStatus(record.status.value)
    body = json.dumps(record.payload, separators=(",", ":"), ensure_ascii=False).encode()
    return Delivery(
        id=record.id,
        endpoint=record.url,
        event_id=str(record.payload.get("id", record.event_id or "")),
        event_type=record.event_type,
        body=body,
        created_at=record.created_at,
        next_attempt_at=record.next_attempt_at if status is DeliveryStatus.PENDING else None,
        status=status,
        attempts=record.attempts,
        last_attempt_at=attempt.at if attempt else None,
        last_status_code=attempt.status_code if attempt else None,
        last_error=record.last_error,
    )
