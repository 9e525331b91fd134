"""Outbound notifications: signed webhooks for token and account events.

See ``docs/webhooks.md`` for the payloads, the signature scheme and a receiver example.
"""

from __future__ import annotations

from igtoken.notify.delivery import (
    DEFAULT_RETRY_SCHEDULE,
    Deliverer,
    Endpoint,
    classify,
    deliveries_for,
)
from igtoken.notify.events import DATA_FIELDS, Event, EventType, build_event, redact
from igtoken.notify.log import Attempt, Delivery, DeliveryLog, DeliveryStatus, MemoryDeliveryLog, Outcome
from igtoken.notify.notifier import Notifier
from igtoken.notify.signing import DEFAULT_TOLERANCE, SIGNATURE_HEADER, ReplayGuard, sign, verify

__all__ = [
    "DATA_FIELDS",
    "DEFAULT_RETRY_SCHEDULE",
    "DEFAULT_TOLERANCE",
    "SIGNATURE_HEADER",
    "Attempt",
    "Deliverer",
    "Delivery",
    "DeliveryLog",
    "DeliveryStatus",
    "Endpoint",
    "Event",
    "EventType",
    "MemoryDeliveryLog",
    "Notifier",
    "Outcome",
    "ReplayGuard",
    "build_event",
    "classify",
    "deliveries_for",
    "redact",
    "sign",
    "verify",
]
