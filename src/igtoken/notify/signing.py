"""Sign outbound webhooks as Standard Webhooks, and verify them (pure; no clock, no I/O).

Every request carries the three headers of the open `Standard Webhooks`_ specification::

    webhook-id: 5f0c2a6e-8d0b-4a51-9d3e-3c3f2b7c9a10
    webhook-timestamp: 1767225600
    webhook-signature: v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=

``v1`` is the base64 HMAC-SHA256 of ``f"{id}.{timestamp}."`` followed by the raw body, keyed
with the signing secret. A ``whsec_`` secret is ``whsec_`` plus the base64 of the key bytes
(make one with :func:`generate_secret`); any other secret is used as its UTF-8 bytes. So a
receiver in any language verifies with a stock library (Python: ``standardwebhooks.Webhook``).
While a secret is rotated, the header carries one ``v1,…`` per secret, separated by spaces,
and a receiver holding either accepts it.

.. _Standard Webhooks: https://www.standardwebhooks.com/
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _random
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final

from igtoken.core.exceptions import (
    ConfigurationError,
    MalformedSignatureHeader,
    ReplayedSignature,
    SignatureMismatch,
    StaleSignature,
)
from igtoken.core.secret import Secret

ID_HEADER: Final = "webhook-id"
TIMESTAMP_HEADER: Final = "webhook-timestamp"
SIGNATURE_HEADER: Final = "webhook-signature"
SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - the prefix, not a secret
DEFAULT_TOLERANCE: Final = timedelta(seconds=300)
_MAX_HEADER: Final = 2048  # enough for a handful of v1 values; anything longer is not ours
_MAX_ID: Final = 256


def generate_secret() -> Secret:
    """A new ``whsec_`` signing secret: 32 random bytes, base64-encoded."""
    return Secret(SECRET_PREFIX + base64.b64encode(_random.token_bytes(32)).decode())


def signing_key(secret: Secret) -> bytes:
    """The HMAC key of ``secret``: the decoded bytes of a ``whsec_`` secret, else its UTF-8 bytes."""
    value = secret.reveal()
    if not value.startswith(SECRET_PREFIX):
        return value.encode()
    try:
        key = base64.b64decode(value[len(SECRET_PREFIX) :] + "==", validate=False)
    except (binascii.Error, ValueError):
        raise ConfigurationError(
            "a whsec_ webhook secret must be base64 after the prefix",
            fix="make one with: python -c 'from igtoken.notify import generate_secret as g; "
            "print(g().reveal())'",
        ) from None
    if not key:
        raise ConfigurationError("the webhook secret is empty after its whsec_ prefix")
    return key


def compute_signature(msg_id: str, timestamp: int, raw_body: bytes, secret: Secret) -> str:
    """The base64 ``v1`` value for ``raw_body`` sent as message ``msg_id`` at ``timestamp``."""
    _require_bytes(raw_body)
    message = f"{msg_id}.{timestamp}.".encode() + bytes(raw_body)
    return base64.b64encode(hmac.new(signing_key(secret), message, hashlib.sha256).digest()).decode()


def sign(msg_id: str, raw_body: bytes, secrets: Secret | Sequence[Secret], now: datetime) -> dict[str, str]:
    """The three Standard Webhooks headers for ``raw_body``, message ``msg_id``, sent at ``now``.

    Pass several secrets while rotating one: the signature header then carries a ``v1`` for each.
    """
    _check_id(msg_id)
    keys = _secrets(secrets)
    timestamp = _unix(now)
    signatures = " ".join(f"v1,{compute_signature(msg_id, timestamp, raw_body, key)}" for key in keys)
    return {ID_HEADER: msg_id, TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signatures}


def verify(
    raw_body: bytes,
    headers: Mapping[str, str],
    secrets: Secret | Sequence[Secret],
    now: datetime,
    *,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    replay_guard: ReplayGuard | None = None,
) -> datetime:
    """Check a received webhook (its body and headers); return the time it was signed.

    Pass the body exactly as received: re-serialised JSON will not verify.

    Raises:
        MalformedSignatureHeader: a header is missing, or not in the Standard Webhooks form.
        StaleSignature: the timestamp is more than ``tolerance`` away from ``now``.
        SignatureMismatch: no ``v1`` matches under any of ``secrets``.
        ReplayedSignature: ``replay_guard`` has already accepted this message id.
    """
    keys = _secrets(secrets)
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id, timestamp, candidates = _parse(lowered)
    signed_at = datetime.fromtimestamp(timestamp, UTC)
    _require_utc(now)
    if abs(now - signed_at) > tolerance:
        raise StaleSignature(
            f"webhook signed at {signed_at.isoformat()}, more than {tolerance} from now ({now.isoformat()})",
            fix="check both clocks; a request this old may be a replay",
        )
    expected = [base64.b64decode(compute_signature(msg_id, timestamp, raw_body, key)) for key in keys]
    # Compare every pair, so timing does not tell which key or candidate came close.
    matched = [hmac.compare_digest(want, got) for want in expected for got in candidates]
    if not any(matched):
        raise SignatureMismatch(
            "webhook signature does not match the body",
            fix="verify the raw request body with the endpoint's signing secret",
        )
    if replay_guard is not None:
        replay_guard.remember(msg_id, timestamp, now, tolerance)
    return signed_at


class ReplayGuard:
    """Remembers accepted requests (message id and timestamp) while they would pass the timestamp check.

    In-memory and thread-safe; one per receiving process. Beyond the tolerance window the
    timestamp check rejects a replay by itself, so nothing older is kept. A retried delivery
    keeps its ``webhook-id`` but is signed afresh at a new time, so it passes this guard: keep
    the ids you acted on (in your database) to act only once.
    """

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def remember(self, msg_id: str, timestamp: int, now: datetime, tolerance: timedelta) -> None:
        """Record an accepted request, or raise :class:`ReplayedSignature` if it was seen before."""
        horizon = _unix(now) - int(tolerance.total_seconds()) - 1
        key = f"{timestamp}:{msg_id}"
        with self._lock:
            for old in [k for k, t in self._seen.items() if t < horizon]:
                del self._seen[old]
            if key in self._seen:
                raise ReplayedSignature(
                    "this webhook request was already accepted once",
                    fix="this is a replay or a duplicate; ignore it",
                )
            self._seen[key] = timestamp

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)


def _parse(headers: Mapping[str, str]) -> tuple[str, int, list[bytes]]:
    msg_id = headers.get(ID_HEADER, "")
    raw_timestamp = headers.get(TIMESTAMP_HEADER, "")
    header = headers.get(SIGNATURE_HEADER, "")
    for name, value in ((ID_HEADER, msg_id), (TIMESTAMP_HEADER, raw_timestamp), (SIGNATURE_HEADER, header)):
        if not value:
            raise MalformedSignatureHeader(f"the {name} header is missing or empty")
    if len(msg_id) > _MAX_ID or len(header) > _MAX_HEADER:
        raise MalformedSignatureHeader("a webhook header is too long")
    if not raw_timestamp.isascii() or not raw_timestamp.isdigit():
        raise MalformedSignatureHeader(f"the {TIMESTAMP_HEADER} header must be Unix seconds")
    candidates: list[bytes] = []
    for part in header.split():
        version, sep, value = part.partition(",")
        if not sep:
            raise MalformedSignatureHeader(f"the {SIGNATURE_HEADER} header has a part without ','")
        if version != "v1":
            continue  # other schemes (v1a, …) are skipped so that one can be added alongside
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedSignatureHeader("a v1 signature must be base64") from None
        if len(decoded) != hashlib.sha256().digest_size:
            raise MalformedSignatureHeader("a v1 signature must be 32 bytes (HMAC-SHA256)")
        candidates.append(decoded)
    if not candidates:
        raise MalformedSignatureHeader(f"the {SIGNATURE_HEADER} header has no v1 signature")
    return msg_id, int(raw_timestamp), candidates


def _check_id(msg_id: str) -> None:
    if not msg_id or len(msg_id) > _MAX_ID or "." in msg_id or any(c.isspace() for c in msg_id):
        raise ValueError("a webhook id must be 1-256 characters without '.' or spaces")


def _secrets(secrets: Secret | Sequence[Secret]) -> list[Secret]:
    keys = [secrets] if isinstance(secrets, Secret) else list(secrets)
    if not keys or not all(isinstance(key, Secret) and key for key in keys):
        raise TypeError("signing secrets must be one or more non-empty Secret values")
    return keys


def _require_bytes(raw_body: bytes) -> None:
    if not isinstance(raw_body, bytes | bytearray | memoryview):
        raise TypeError("sign and verify the raw body as bytes, exactly as sent or received")


def _require_utc(now: datetime) -> None:
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")


def _unix(now: datetime) -> int:
    _require_utc(now)
    return int(now.timestamp())
