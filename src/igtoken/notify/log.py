"""The delivery log: every webhook delivery and every attempt at it, behind a small protocol.

Nothing is lost: a delivery is written before it is sent, each attempt is recorded, and a
delivery ends either ``delivered`` or ``failed`` with its last status code and error kept.
:class:`MemoryDeliveryLog` is the reference implementation; the vault's ``webhook_deliveries``
table implements the same :class:`DeliveryLog` protocol.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from igtoken.core.exceptions import ConflictError, NotFoundError


class DeliveryStatus(enum.StrEnum):
    """Where a delivery stands."""

    PENDING = "pending"  #: not yet delivered; ``next_attempt_at`` says when it is due
    DELIVERED = "delivered"  #: the endpoint answered 2xx
    FAILED = "failed"  #: given up: a permanent error, or the retry schedule ran out


class DeliveryOutcome(enum.StrEnum):
    """What one attempt came to."""

    DELIVERED = "delivered"
    RETRY = "retry"  #: a 4xx but 410, a 5xx, a timeout or a network error: try again later
    FAILED = "failed"  #: permanent: 410 Gone, a redirect, or no retries left


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event bound for one endpoint. ``body`` is the exact JSON sent on every attempt."""

    id: str
    endpoint: str
    event_id: str
    event_type: str
    body: bytes
    created_at: datetime
    next_attempt_at: datetime | None
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try at a delivery, as recorded in the log. ``error`` never contains a secret."""

    delivery_id: str
    at: datetime
    outcome: DeliveryOutcome
    status_code: int | None = None
    error: str | None = None
    #: When to try again; set only when ``outcome`` is ``RETRY``.
    next_attempt_at: datetime | None = None


class DeliveryLog(Protocol):
    """Where deliveries wait and their attempts are written down. Implementations are sync."""

    def enqueue(self, deliveries: Sequence[Delivery]) -> None:
        """Store new pending deliveries; an id already present is a :class:`ConflictError`."""

    def due(self, now: datetime, limit: int) -> Sequence[Delivery]:
        """Pending deliveries with ``next_attempt_at <= now``, oldest first, at most ``limit``.

        A store shared by several runners should claim what it returns (a lease, or
        ``FOR UPDATE SKIP LOCKED``) so that one delivery is not sent twice at once.
        """

    def record_attempt(self, attempt: Attempt) -> Delivery:
        """Write down ``attempt`` and return the delivery as it now stands."""


class MemoryDeliveryLog:
    """A :class:`DeliveryLog` in a dict: the reference implementation, for tests and single processes."""

    def __init__(self) -> None:
        self._deliveries: dict[str, Delivery] = {}
        self._attempts: dict[str, list[Attempt]] = {}
        self._lock = threading.Lock()

    def enqueue(self, deliveries: Sequence[Delivery]) -> None:
        """Store new pending deliveries; an id already present is a :class:`ConflictError`."""
        with self._lock:
            for delivery in deliveries:
                if delivery.id in self._deliveries:
                    raise ConflictError(f"delivery {delivery.id} is already in the log")
            for delivery in deliveries:
                self._deliveries[delivery.id] = delivery
                self._attempts[delivery.id] = []

    def due(self, now: datetime, limit: int) -> list[Delivery]:
        """Pending deliveries whose time has come, oldest first."""
        with self._lock:
            ready = [
                d
                for d in self._deliveries.values()
                if d.status is DeliveryStatus.PENDING
                and d.next_attempt_at is not None
                and d.next_attempt_at <= now
            ]
        ready.sort(key=lambda d: (d.next_attempt_at or d.created_at, d.created_at))
        return ready[:limit]

    def record_attempt(self, attempt: Attempt) -> Delivery:
        """Write down ``attempt`` and return the delivery as it now stands."""
        with self._lock:
            delivery = self._deliveries.get(attempt.delivery_id)
            if delivery is None:
                raise NotFoundError(f"no delivery {attempt.delivery_id} in the log")
            status = {
                DeliveryOutcome.DELIVERED: DeliveryStatus.DELIVERED,
                DeliveryOutcome.RETRY: DeliveryStatus.PENDING,
                DeliveryOutcome.FAILED: DeliveryStatus.FAILED,
            }[attempt.outcome]
            updated = replace(
                delivery,
                status=status,
                attempts=delivery.attempts + 1,
                last_attempt_at=attempt.at,
                last_status_code=attempt.status_code,
                last_error=attempt.error,
                next_attempt_at=attempt.next_attempt_at if status is DeliveryStatus.PENDING else None,
            )
            self._deliveries[delivery.id] = updated
            self._attempts[delivery.id].append(attempt)
            return updated

    def get(self, delivery_id: str) -> Delivery:
        """One delivery by id."""
        with self._lock:
            try:
                return self._deliveries[delivery_id]
            except KeyError:
                raise NotFoundError(f"no delivery {delivery_id} in the log") from None

    def attempts(self, delivery_id: str) -> list[Attempt]:
        """Every attempt at one delivery, in order."""
        with self._lock:
            return list(self._attempts.get(delivery_id, ()))

    def all(self) -> list[Delivery]:
        """Every delivery, in the order they were enqueued."""
        with self._lock:
            return list(self._deliveries.values())
