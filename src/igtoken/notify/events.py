"""Outbound event payloads: the event types, their shape, and the rule that no token is ever in one.

A payload is ``{"id": <uuid4>, "type": "token.refreshed", "created": <ISO 8601 UTC>,
"data": {...}}``. ``data`` carries facts about an account (ids, username, expiry, error
text) and nothing else: only the field names in :data:`DATA_FIELDS` are accepted, a
:class:`~igtoken.Secret` is refused outright, and token-shaped strings and secret query
parameters are redacted from every string value as a second line of defence.

Values are JSON scalars, except in ``meta.event``: it relays what Meta sent, so its
:data:`NESTED_FIELDS` may hold lists and objects (redacted all the way down, like every string).
"""

from __future__ import annotations

import enum
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from igtoken.core.secret import Secret

#: A JSON scalar: the only kind of value ``data`` holds (but see :data:`NESTED_FIELDS`).
Scalar = str | int | float | bool | None
#: A JSON value: what a nested field of ``meta.event`` holds.
JsonValue = Scalar | list["JsonValue"] | dict[str, "JsonValue"]


class WebhookEventType(enum.StrEnum):
    """What happened. Each is sent to the endpoints subscribed to it."""

    #: a token was refreshed (or exchanged); ``expires_at`` is new
    TOKEN_REFRESHED = "token.refreshed"  # noqa: S105 (an event name, not a password)
    #: an attempt failed; ``next_attempt_at`` says when again
    TOKEN_REFRESH_FAILED = "token.refresh_failed"  # noqa: S105 (an event name, not a password)
    #: a warning threshold was crossed; ``threshold_days`` says which
    TOKEN_EXPIRING = "token.expiring"  # noqa: S105 (an event name, not a password)
    #: the token is dead or will die; log in again
    ACCOUNT_NEEDS_REAUTH = "account.needs_reauth"
    #: the person removed the app
    ACCOUNT_DEAUTHORIZED = "account.deauthorized"
    #: a data-deletion request was carried out
    ACCOUNT_DELETED = "account.deleted"
    #: the scheduled permission audit found scopes an app holds that no stored account's use needs
    PERMISSIONS_UNUSED = "permissions.unused"
    #: token reads or proxy calls far above their baseline, a revoked key used, or a burst of refused keys
    SECURITY_ANOMALY = "security.anomaly"
    #: Meta sent a signed webhook event (``object``, ``entry_ids``, ``entries`` as Meta sent them)
    META_EVENT = "meta.event"


#: The only field names ``data`` may carry. None of them can hold a token.
DATA_FIELDS: Final = frozenset(
    {
        "account_id",
        "app_id",
        "ig_user_id",
        "username",
        "token_kind",
        "status",
        "issued_at",
        "expires_at",
        "expiry_subject",
        "threshold_days",
        "next_attempt_at",
        "failure_count",
        "error",
        "error_code",
        "reason",
        "reauthorize_url",
        "confirmation_code",
        # permissions.unused and security.anomaly
        "app_name",
        "scopes",
        "fix",
        "accounts",
        "anomaly",
        "api_key_id",
        "count",
        "baseline",
        "threshold",
        "window_seconds",
        # meta.event
        "meta_app_id",
        "object",
        "entry_ids",
        "account_ids",
        "entries",
    }
)

#: Fields whose value may be a list or an object, and the one event type that may carry them: Meta's
#: own webhook payload, relayed. Everywhere else a nested value would be a way round the field list.
NESTED_FIELDS: Final = frozenset({"entry_ids", "account_ids", "entries"})
_NESTED_EVENT_TYPES: Final = frozenset({WebhookEventType.META_EVENT})
#: How deep a relayed value may nest; Meta's payloads are a few levels deep.
_MAX_DEPTH: Final = 32

_REDACTED: Final = "[redacted]"
# Instagram tokens start IGAA/IGQV/IGQW…, Facebook ones EAA…; long runs of base64url after them.
_TOKEN_SHAPED: Final = re.compile(r"\b(?:IG[A-Z]{2}|EAA)[A-Za-z0-9_\-]{16,}")
_SECRET_PARAM: Final = re.compile(
    r"((?:access_token|client_secret|input_token|fb_exchange_token|appsecret_proof|code)=)[^&\s\"']+",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """Remove anything that looks like a token or a secret query parameter from ``text``."""
    return _TOKEN_SHAPED.sub(_REDACTED, _SECRET_PARAM.sub(rf"\1{_REDACTED}", text))


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened, ready to be serialised once and sent to every endpoint."""

    id: str
    type: WebhookEventType
    created: datetime
    data: Mapping[str, JsonValue]

    def payload(self) -> dict[str, object]:
        """The JSON object receivers get."""
        return {
            "id": self.id,
            "type": self.type.value,
            "created": _iso(self.created),
            "data": dict(self.data),
        }

    def body(self) -> bytes:
        """The exact bytes sent and signed: compact UTF-8 JSON."""
        return json.dumps(self.payload(), separators=(",", ":"), ensure_ascii=False).encode()


def build_event(
    event_type: WebhookEventType | str,
    data: Mapping[str, object],
    now: datetime,
    *,
    event_id: str | None = None,
) -> Event:
    """Make an :class:`Event`, checking ``data`` so that no token or secret can ride along.

    Raises:
        ValueError: an unknown event type, a field not in :data:`DATA_FIELDS`, a naive datetime,
            or a value that is not a JSON scalar or datetime.
        TypeError: a :class:`~igtoken.Secret` among the values.
    """
    try:
        kind = WebhookEventType(event_type)
    except ValueError:
        known = ", ".join(t.value for t in WebhookEventType)
        raise ValueError(f"unknown event type {event_type!r}; known types: {known}") from None
    _require_utc("now", now)
    clean: dict[str, JsonValue] = {}
    for key, value in data.items():
        if key not in DATA_FIELDS:
            raise ValueError(
                f"webhook data field {key!r} is not allowed; allowed fields: {', '.join(sorted(DATA_FIELDS))}"
            )
        if key in NESTED_FIELDS and kind in _NESTED_EVENT_TYPES:
            clean[key] = _clean_nested(key, value, 0)
        else:
            clean[key] = _clean_value(key, value)
    return Event(id=event_id or str(uuid.uuid4()), type=kind, created=now, data=clean)


def _clean_value(key: str, value: object) -> Scalar:
    if isinstance(value, Secret):
        raise TypeError(f"webhook data field {key!r} holds a Secret; tokens and secrets never leave igtoken")
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, datetime):
        _require_utc(key, value)
        return _iso(value)
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    raise ValueError(f"webhook data field {key!r} must be a string, number, boolean, datetime or None")


def _clean_nested(key: str, value: object, depth: int) -> JsonValue:
    if depth > _MAX_DEPTH:
        raise ValueError(f"webhook data field {key!r} nests deeper than {_MAX_DEPTH} levels")
    if isinstance(value, list | tuple):
        return [_clean_nested(key, item, depth + 1) for item in value]
    if isinstance(value, Mapping):
        out: dict[str, JsonValue] = {}
        for name, item in value.items():
            if not isinstance(name, str):
                raise ValueError(f"webhook data field {key!r} holds an object with a non-string key")
            out[redact(name)] = _clean_nested(key, item, depth + 1)
        return out
    return _clean_value(key, value)


def _require_utc(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
