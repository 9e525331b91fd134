"""The outbound webhook delivery log: what the refresh engine must tell subscribers, and how it went."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from igtoken.core.exceptions import ConflictError, NotFoundError
from igtoken.vault._db import AnyRow, Database, clip_error, new_id, record_from_row
from igtoken.vault.models import WebhookDelivery
from igtoken.vault.records import WebhookDeliveryRecord, WebhookStatus

__all__ = ["WebhookDeliveries"]


def _record(row: AnyRow) -> WebhookDeliveryRecord:
    return record_from_row(
        WebhookDeliveryRecord, row, payload=dict(row.payload), status=WebhookStatus(row.status)
    )


class WebhookDeliveries:
    """Enqueue, claim (with a lease) and record webhook deliveries."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def enqueue(
        self,
        event_type: str,
        url: str,
        payload: dict[str, Any],
        *,
        now: datetime,
        event_id: int | None = None,
    ) -> WebhookDeliveryRecord:
        """Queue a notification, due at once. ``payload`` is plain JSON and never holds a token."""
        try:
            json.dumps(payload)
        except TypeError:
            raise ValueError("webhook payloads must be plain JSON; secrets never go into them") from None
        delivery_id = new_id()
        with self._db.write() as conn:
            conn.execute(
                sa.insert(WebhookDelivery).values(
                    id=delivery_id,
                    event_type=event_type,
                    event_id=event_id,
                    url=url,
                    payload=payload,
                    status=WebhookStatus.PENDING.value,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        return self.get(delivery_id)

    def get(self, delivery_id: str) -> WebhookDeliveryRecord:
        """One delivery by id."""
        with self._db.read() as conn:
            row = conn.execute(sa.select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)).one()
        return _record(row)

    def list_all(
        self, *, status: WebhookStatus | None = None, limit: int = 100
    ) -> list[WebhookDeliveryRecord]:
        """Deliveries, newest first."""
        stmt = sa.select(WebhookDelivery).order_by(WebhookDelivery.created_at.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(WebhookDelivery.status == WebhookStatus(status).value)
        with self._db.read() as conn:
            return [_record(r) for r in conn.execute(stmt)]

    def claim(
        self, *, now: datetime, owner: str, limit: int = 50, lease_seconds: float = 60
    ) -> list[WebhookDeliveryRecord]:
        """Lease pending deliveries that are due; disjoint across workers on PostgreSQL."""
        until = now + timedelta(seconds=lease_seconds)
        with self._db.write() as conn:
            pick = (
                sa.select(WebhookDelivery.id)
                .where(
                    WebhookDelivery.status == WebhookStatus.PENDING.value,
                    WebhookDelivery.next_attempt_at <= now,
                    sa.or_(
                        WebhookDelivery.lease_expires_at.is_(None), WebhookDelivery.lease_expires_at <= now
                    ),
                )
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(limit)
            )
            if self._db.is_postgres:
                pick = pick.with_for_update(skip_locked=True)
            ids = list(conn.scalars(pick))
            if not ids:
                return []
            conn.execute(
                sa.update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(ids))
                .values(lease_owner=owner, lease_expires_at=until)
            )
            rows = conn.execute(
                sa.select(WebhookDelivery)
                .where(WebhookDelivery.id.in_(ids))
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            ).all()
        return [_record(r) for r in rows]

    def _finish(self, delivery_id: str, owner: str, now: datetime, **values: Any) -> WebhookDeliveryRecord:
        with self._db.write() as conn:
            res = conn.execute(
                sa.update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == delivery_id,
                    WebhookDelivery.lease_owner == owner,
                    WebhookDelivery.lease_expires_at > now,
                )
                .values(
                    attempts=WebhookDelivery.attempts + 1, lease_owner=None, lease_expires_at=None, **values
                )
            )
            if res.rowcount != 1:
                raise ConflictError(f"the lease on delivery {delivery_id!r} is no longer held by {owner!r}")
        return self.get(delivery_id)

    def record_success(self, delivery_id: str, *, owner: str, now: datetime) -> WebhookDeliveryRecord:
        """The subscriber accepted the notification."""
        return self._finish(
            delivery_id, owner, now, status=WebhookStatus.DELIVERED.value, delivered_at=now, last_error=None
        )

    def record_failure(
        self, delivery_id: str, *, owner: str, now: datetime, error: str, next_attempt_at: datetime | None
    ) -> WebhookDeliveryRecord:
        """An attempt failed: try again at ``next_attempt_at``, or give up when it is ``None``."""
        if next_attempt_at is None:
            return self._finish(
                delivery_id, owner, now, status=WebhookStatus.FAILED.value, last_error=clip_error(error)
            )
        return self._finish(
            delivery_id, owner, now, next_attempt_at=next_attempt_at, last_error=clip_error(error)
        )

    def redeliver(self, delivery_id: str, *, now: datetime) -> WebhookDeliveryRecord:
        """Send a delivery again: pending, due at ``now``, with a fresh retry schedule.

        The payload (and so the receiver's ``webhook-id``) is unchanged. A delivery a worker is
        sending right now is a :class:`ConflictError`; an unknown id a :class:`NotFoundError`.
        """
        with self._db.write() as conn:
            row = conn.execute(sa.select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)).first()
            if row is None:
                raise NotFoundError(
                    f"no webhook delivery {delivery_id!r}", fix="list them with: igtoken webhooks list"
                )
            if row.lease_expires_at is not None and row.lease_expires_at > now:
                raise ConflictError(f"delivery {delivery_id!r} is being sent right now; try again shortly")
            conn.execute(
                sa.update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id)
                .values(
                    status=WebhookStatus.PENDING.value,
                    attempts=0,
                    next_attempt_at=now,
                    delivered_at=None,
                    lease_owner=None,
                    lease_expires_at=None,
                )
            )
        return self.get(delivery_id)
