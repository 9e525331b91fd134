"""Verify Meta's ``signed_request`` (deauthorize and data-deletion callbacks).

Format: ``base64url(signature) "." base64url(payload_json)``, unpadded. The
signature is HMAC-SHA256 keyed with the app secret over the *encoded* payload
segment exactly as received, as Meta's own sample does; some third-party code
HMACs the decoded JSON instead, which never verifies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
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


def _b64decode(segment: str, what: str) -> bytes:
    if not segment or not segment.isascii():
        raise MalformedSignedRequest(f"the {what} segment is empty or not ASCII")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise MalformedSignedRequest(f"the {what} segment is not valid base64url") from None


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
    the Instagram app secret.
    """
    require_aware(now)
    if not isinstance(signed_request, str):
        raise MalformedSignedRequest(f"signed_request must be a string, not {type(signed_request).__name__}")
    if len(signed_request) > _MAX_LENGTH:
        raise MalformedSignedRequest("signed_request is too long")
    parts = signed_request.strip().split(".")
    if len(parts) != 2:
        raise MalformedSignedRequest("signed_request is not '<signature>.<payload>'")
    encoded_signature, encoded_payload = parts
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
