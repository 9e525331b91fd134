"""Outbound notifications: Standard Webhooks for token and account events.

See ``docs/webhooks.md`` for the payloads, the signature scheme and a receiver example.
"""

from __future__ import annotations

from igtoken.core.exceptions import (
    MalformedSignatureHeader,
    ReplayedSignature,
    SignatureMismatch,
    StaleSignature,
    WebhookSignatureError,
)
from igtoken.notify.delivery import (
    DEFAULT_RETRY_SCHEDULE,
    Deliverer,
    Endpoint,
    classify,
    deliveries_for,
)
from igtoken.notify.events import DATA_FIELDS, Event, WebhookEventType, build_event, redact
from igtoken.notify.log import (
    Attempt,
    Delivery,
    DeliveryLog,
    DeliveryOutcome,
    DeliveryStatus,
    MemoryDeliveryLog,
)
from igtoken.notify.notifier import Notifier
from igtoken.notify.signing import (
    DEFAULT_TOLERANCE,
    ID_HEADER,
    SECRET_PREFIX,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    ReplayGuard,
    generate_secret,
    sign,
    verify,
)

__all__ = [
    "DATA_FIELDS",
    "DEFAULT_RETRY_SCHEDULE",
    "DEFAULT_TOLERANCE",
    "ID_HEADER",
    "SECRET_PREFIX",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Attempt",
    "Deliverer",
    "Delivery",
    "DeliveryLog",
    "DeliveryOutcome",
    "DeliveryStatus",
    "Endpoint",
    "Event",
    "MalformedSignatureHeader",
    "MemoryDeliveryLog",
    "Notifier",
    "ReplayGuard",
    "ReplayedSignature",
    "SignatureMismatch",
    "StaleSignature",
    "WebhookEventType",
    "WebhookSignatureError",
    "build_event",
    "classify",
    "deliveries_for",
    "generate_secret",
    "redact",
    "sign",
    "verify",
]
