"""Verify Meta's ``signed_request`` (deauthorize and data-deletion callbacks).

Format: ``base64url(signature) "." base64url(payload_json)``, unpadded. The
signature is HMAC-SHA256 keyed with the app secret over the *encoded* payload
segment exactly as received, as Meta's own sample does; some third-party code
HMACs the decoded JSON instead, which never verifies.

Both segments are decoded strictly: only the base64url alphabet (no ``+``, ``/``),
no ``=`` padding, and zero unused low bits in the last character. So every pair of
byte strings has exactly one accepted spelling, and :func:`canonical_signed_request`
(what a replay guard should remember) is the same for every way of writing one
request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from igtoken.core.exceptions import (
    InvalidSignature,
    MalformedSignedRequest,
    StaleSignedRequest,
    UnsupportedAlgorithm,
)
from igtoken.core.lifecycle import require_aware
from igtoken.core.secret import Secret

ALGORITHM: Final = "HMAC-SHA256"
#: How old a signed request may be by default: Meta calls back at once.
DEFAULT_MAX_AGE: Final = timedelta(hours=1)
#: How far ahead of our clock ``issued_at`` may be (clock skew).
DEFAULT_MAX_SKEW: Final = timedelta(minutes=5)
_MAX_LENGTH: Final = 16_384


_BASE64URL: Final = re.compile(r"[A-Za-z0-9_-]+")


def _b64decode(segment: str, what: str) -> bytes:
    """Strict unpadded base64url: one spelling per byte string, anything else is malformed."""
    if not segment or not _BASE64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise MalformedSignedRequest(
            f"the {what} segment is not unpadded base64url (only A-Z, a-z, 0-9, '-' and '_')"
        )
    try:
        decoded = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise MalformedSignedRequest(f"the {what} segment is not valid base64url") from None
    if _b64encode(decoded) != segment:
        raise MalformedSignedRequest(f"the {what} segment has non-zero unused bits in its last character")
    return decoded


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segments(signed_request: str) -> tuple[str, str]:
    if not isinstance(signed_request, str):
        raise MalformedSignedRequest(f"signed_request must be a string, not {type(signed_request).__name__}")
    if len(signed_request) > _MAX_LENGTH:
        raise MalformedSignedRequest("signed_request is too long")
    parts = signed_request.strip().split(".")
    if len(parts) != 2:
        raise MalformedSignedRequest("signed_request is not '<signature>.<payload>'")
    return parts[0], parts[1]


def canonical_signed_request(signed_request: str) -> str:
    """The one spelling of ``signed_request``, rebuilt from its decoded signature and payload.

    A replay guard keys on this, not on the text received, so no other spelling of a request
    already processed gets through. Raises :class:`MalformedSignedRequest` like
    :func:`parse_signed_request` for anything it would refuse as malformed.
    """
    encoded_signature, encoded_payload = _segments(signed_request)
    signature = _b64decode(encoded_signature, "signature")
    payload = _b64decode(encoded_payload, "payload")
    return f"{_b64encode(signature)}.{_b64encode(payload)}"


def _timestamp(payload: dict[str, Any], key: str) -> datetime | None:
    value = payload.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedSignedRequest(f"{key} is not a Unix timestamp")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedSignedRequest(f"{key} is out of range") from None


def parse_signed_request(
    signed_request: str,
    app_secret: Secret,
    *,
    now: datetime,
    max_age: timedelta = DEFAULT_MAX_AGE,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
) -> dict[str, Any]:
    """Verify ``signed_request`` with the app secret and return its payload.

    Checks, in order: the shape (:class:`MalformedSignedRequest`), the algorithm
    (:class:`UnsupportedAlgorithm`), the HMAC in constant time
    (:class:`InvalidSignature`), then ``issued_at`` against ``now`` within
    ``max_age`` in the past and ``max_skew`` in the future, and ``expires`` if
    present (:class:`StaleSignedRequest`). For Instagram Login apps the key is
    the Instagram app secret. Both segments must be strict unpadded base64url (see the
    module docstring); a replay guard keys on :func:`canonical_signed_request`.
    """
    require_aware(now)
    encoded_signature, encoded_payload = _segments(signed_request)
    signature = _b64decode(encoded_signature, "signature")
    raw_payload = _b64decode(encoded_payload, "payload")
    try:
        payload = json.loads(raw_payload)
    except (ValueError, RecursionError):
        raise MalformedSignedRequest("the payload is not JSON") from None
    if not isinstance(payload, dict):
        raise MalformedSignedRequest("the payload is not a JSON object")
    algorithm = payload.get("algorithm")
    if not isinstance(algorithm, str) or algorithm.upper() != ALGORITHM:
        raise UnsupportedAlgorithm(f"the payload names algorithm {algorithm!r}, not {ALGORITHM}")
    expected = hmac.new(
        app_secret.reveal().encode(), encoded_payload.encode("ascii"), hashlib.sha256
    ).digest()
    if not hmac.compare_digest(expected, signature):
        raise InvalidSignature(
            "the signature does not match",
            fix="verify with the app secret of the app Meta called for (the Instagram app secret for "
            "Instagram Login apps)",
        )
    issued_at = _timestamp(payload, "issued_at")
    if issued_at is None:
        raise MalformedSignedRequest("the payload has no issued_at")
    if issued_at < now - max_age:
        raise StaleSignedRequest(f"issued_at {issued_at.isoformat()} is older than {max_age}")
    if issued_at > now + max_skew:
        raise StaleSignedRequest(f"issued_at {issued_at.isoformat()} is in the future")
    expires = _timestamp(payload, "expires")
    if expires is not None and expires <= now:
        raise StaleSignedRequest(f"the signed request expired at {expires.isoformat()}")
    return payload
