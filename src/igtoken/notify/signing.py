"""Sign outbound webhooks, and verify them on the receiving side (pure; no clock, no I/O).

The header is Stripe-style::

    X-Igtoken-Signature: t=1767225600,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd

``v1`` is the hex HMAC-SHA256, under the endpoint's signing secret, of ``f"{t}."`` followed by
the raw request body, byte for byte. Signing the timestamp with the body lets a receiver
reject old requests; a :class:`ReplayGuard` also rejects the same request seen twice. While a
secret is being rotated the header carries one ``v1`` per secret, and a receiver configured
with either secret accepts it.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Final

from igtoken.core.exceptions import (
    MalformedSignatureHeader,
    ReplayedSignature,
    SignatureMismatch,
    StaleSignature,
)
from igtoken.core.secret import Secret

SIGNATURE_HEADER: Final = "X-Igtoken-Signature"
DEFAULT_TOLERANCE: Final = timedelta(seconds=300)
_MAX_HEADER: Final = 2048  # enough for a handful of v1 values; anything longer is not ours


def compute_signature(raw_body: bytes, secret: Secret, timestamp: int) -> str:
    """The hex ``v1`` value for ``raw_body`` signed at ``timestamp`` (Unix seconds)."""
    _require_bytes(raw_body)
    message = f"{timestamp}.".encode() + bytes(raw_body)
    return hmac.new(secret.reveal().encode(), message, hashlib.sha256).hexdigest()


def sign(raw_body: bytes, secrets: Secret | Sequence[Secret], now: datetime) -> str:
    """The ``X-Igtoken-Signature`` header value for ``raw_body`` sent at ``now``.

    Pass several secrets while rotating one: the header then carries a ``v1`` for each.
    """
    keys = _secrets(secrets)
    timestamp = _unix(now)
    parts = [f"t={timestamp}", *(f"v1={compute_signature(raw_body, key, timestamp)}" for key in keys)]
    return ",".join(parts)


def verify(
    raw_body: bytes,
    header: str | None,
    secrets: Secret | Sequence[Secret],
    now: datetime,
    *,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    replay_guard: ReplayGuard | None = None,
) -> datetime:
    """Check a received webhook; return the time it was signed.

    Pass the body exactly as received: re-serialised JSON will not verify.

    Raises:
        MalformedSignatureHeader: the header is missing or not ``t=<unix>,v1=<hex>[,v1=…]``.
        StaleSignature: the timestamp is more than ``tolerance`` away from ``now``.
        SignatureMismatch: no ``v1`` matches under any of ``secrets``.
        ReplayedSignature: ``replay_guard`` has already accepted this exact request.
    """
    keys = _secrets(secrets)
    timestamp, candidates = _parse(header)
    signed_at = datetime.fromtimestamp(timestamp, UTC)
    _require_utc(now)
    if abs(now - signed_at) > tolerance:
        raise StaleSignature(
            f"webhook signed at {signed_at.isoformat()}, more than {tolerance} from now ({now.isoformat()})",
            fix="check both clocks; a request this old may be a replay",
        )
    expected = [compute_signature(raw_body, key, timestamp) for key in keys]
    # Compare every pair, so timing does not tell which key or candidate came close.
    matched = [hmac.compare_digest(want, got) for want in expected for got in candidates]
    if not any(matched):
        raise SignatureMismatch(
            "webhook signature does not match the body",
            fix="verify the raw request body with the endpoint's signing secret",
        )
    if replay_guard is not None:
        replay_guard.remember(timestamp, candidates, now, tolerance)
    return signed_at


class ReplayGuard:
    """Remembers accepted signatures for as long as they would pass the timestamp check.

    In-memory and thread-safe; one per receiving process. Beyond the tolerance window the
    timestamp check rejects a replay by itself, so nothing older is kept. Deduplicate by the
    event ``id`` as well: a retried delivery is signed afresh and passes this guard.
    """

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def remember(
        self, timestamp: int, signatures: Sequence[str], now: datetime, tolerance: timedelta
    ) -> None:
        """Record an accepted request, or raise :class:`ReplayedSignature` if it was seen before."""
        horizon = _unix(now) - int(tolerance.total_seconds()) - 1
        with self._lock:
            for key in [k for k, t in self._seen.items() if t < horizon]:
                del self._seen[key]
            keys = [f"{timestamp}:{sig}" for sig in signatures]
            if any(key in self._seen for key in keys):
                raise ReplayedSignature(
                    "this webhook request was already accepted once",
                    fix="this is a replay or a duplicate; ignore it",
                )
            for key in keys:
                self._seen[key] = timestamp

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)


def _parse(header: str | None) -> tuple[int, list[str]]:
    if not header:
        raise MalformedSignatureHeader(f"the {SIGNATURE_HEADER} header is missing or empty")
    if len(header) > _MAX_HEADER:
        raise MalformedSignatureHeader(f"the {SIGNATURE_HEADER} header is too long")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise MalformedSignatureHeader(f"the {SIGNATURE_HEADER} header has a part without '='")
        if name == "t":
            if not value.isascii() or not value.isdigit() or timestamp is not None:
                raise MalformedSignatureHeader(
                    f"the {SIGNATURE_HEADER} header needs exactly one t=<unix seconds>"
                )
            timestamp = int(value)
        elif name == "v1":
            if len(value) != 64 or not all(c in "0123456789abcdef" for c in value):
                raise MalformedSignatureHeader("a v1 signature must be 64 lowercase hex digits")
            candidates.append(value)
        # Other schemes (v0, v2, …) are skipped so that a future scheme can be added alongside.
    if timestamp is None:
        raise MalformedSignatureHeader(f"the {SIGNATURE_HEADER} header has no t=<unix seconds>")
    if not candidates:
        raise MalformedSignatureHeader(f"the {SIGNATURE_HEADER} header has no v1 signature")
    return timestamp, candidates


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
