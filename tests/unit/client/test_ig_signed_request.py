"""Meta's signed_request: verified with the app secret over the encoded payload, in constant time."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from igtoken import (
    InvalidSignature,
    MalformedSignedRequest,
    Secret,
    SignedRequestError,
    StaleSignedRequest,
    UnsupportedAlgorithm,
    parse_signed_request,
)

from .ig_meta_fakes import NOW

KEY = "instagram-app-secret-123"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(payload: dict | bytes, key: str = KEY) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    encoded = b64(raw)
    signature = hmac.new(key.encode(), encoded.encode(), hashlib.sha256).digest()
    return f"{b64(signature)}.{encoded}"


def payload(**changes) -> dict:
    return {"algorithm": "HMAC-SHA256", "issued_at": int(NOW.timestamp()) - 10, "user_id": "218471"} | changes


def test_valid_request_returns_the_payload() -> None:
    """A request signed with the app secret over the encoded payload verifies and returns the payload."""
    assert payload() == parse_signed_request(sign(payload()), Secret(KEY), now=NOW)
    with_expiry = payload(expires=int(NOW.timestamp()) + 3600)
    assert parse_signed_request(sign(with_expiry), Secret(KEY), now=NOW)["user_id"] == "218471"


def test_signature_over_decoded_json_does_not_verify() -> None:
    """HMAC over the decoded JSON (a common third-party mistake) is rejected."""
    raw = json.dumps(payload()).encode()
    wrong = b64(hmac.new(KEY.encode(), raw, hashlib.sha256).digest()) + "." + b64(raw)
    with pytest.raises(InvalidSignature):
        parse_signed_request(wrong, Secret(KEY), now=NOW)


def test_wrong_secret_and_tampering() -> None:
    """Another app's secret, or a payload changed after signing, fails the HMAC."""
    with pytest.raises(InvalidSignature):
        parse_signed_request(sign(payload(), key="other"), Secret(KEY), now=NOW)
    signature, _ = sign(payload()).split(".")
    with pytest.raises(InvalidSignature):
        parse_signed_request(
            f"{signature}.{b64(json.dumps(payload(user_id='1')).encode())}", Secret(KEY), now=NOW
        )


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abc",
        "a.b.c",
        "!!!.abc",
        "abc.!!!",
        f"{b64(b'x' * 32)}.{b64(b'not json')}",
        f"{b64(b'x')}.{b64(b'[1]')}",
        "x" * 20000,
    ],
)
def test_malformed_requests(value: str) -> None:
    """Wrong shape, bad base64url, non-JSON or non-object payloads are MalformedSignedRequest."""
    with pytest.raises(MalformedSignedRequest):
        parse_signed_request(value, Secret(KEY), now=NOW)


def test_algorithm_must_be_hmac_sha256() -> None:
    """Any other algorithm (or none) is refused before the HMAC is trusted."""
    for algorithm in ("HMAC-SHA1", "none", None):
        with pytest.raises(UnsupportedAlgorithm):
            parse_signed_request(sign(payload(algorithm=algorithm)), Secret(KEY), now=NOW)


def test_issued_at_window() -> None:
    """issued_at must lie within max_age before and max_skew after now; expires must not have passed."""
    old = payload(issued_at=int((NOW - timedelta(hours=2)).timestamp()))
    with pytest.raises(StaleSignedRequest):
        parse_signed_request(sign(old), Secret(KEY), now=NOW)
    assert parse_signed_request(sign(old), Secret(KEY), now=NOW, max_age=timedelta(hours=3))
    future = payload(issued_at=int((NOW + timedelta(minutes=10)).timestamp()))
    with pytest.raises(StaleSignedRequest):
        parse_signed_request(sign(future), Secret(KEY), now=NOW)
    with pytest.raises(StaleSignedRequest, match="expired"):
        parse_signed_request(sign(payload(expires=int(NOW.timestamp()) - 1)), Secret(KEY), now=NOW)
    with pytest.raises(MalformedSignedRequest, match="issued_at"):
        parse_signed_request(sign({"algorithm": "HMAC-SHA256"}), Secret(KEY), now=NOW)
    with pytest.raises(MalformedSignedRequest):
        parse_signed_request(sign(payload(issued_at="yesterday")), Secret(KEY), now=NOW)
    with pytest.raises(MalformedSignedRequest):
        parse_signed_request(sign(payload(issued_at=10**20)), Secret(KEY), now=NOW)


@settings(deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_input_raises_only_signed_request_errors(value: str) -> None:
    """Any string either verifies or raises from the SignedRequestError subtree."""
    with contextlib.suppress(SignedRequestError):
        parse_signed_request(value, Secret(KEY), now=NOW)


def _respell(segment: str) -> list[str]:
    """Other spellings of a segment's bytes: '=' padding, '+'/'/', other unused low bits."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    out = [segment + "=" * (-len(segment) % 4 or 4), segment.replace("-", "+").replace("_", "/")]
    unused = {2: 4, 3: 2}.get(len(segment) % 4, 0)
    last = alphabet.index(segment[-1])
    out += [segment[:-1] + alphabet[last ^ flip] for flip in range(1, 2**unused)]
    return [s for s in out if s != segment]


@settings(deadline=None, max_examples=50)
@given(st.integers(min_value=0, max_value=10**9))
def test_only_the_canonical_spelling_verifies(nonce: int) -> None:
    """A request verifies in its one canonical spelling only; every re-spelling of either segment is
    malformed, and surrounding whitespace does not change the canonical form a replay guard keys on."""
    from igtoken.core.signed_request import canonical_signed_request

    signed = sign(payload(nonce=nonce))
    assert parse_signed_request(signed, Secret(KEY), now=NOW)["nonce"] == nonce
    assert canonical_signed_request(signed) == signed
    signature, encoded = signed.split(".")
    variants = [f"{s}.{encoded}" for s in _respell(signature)] + [
        f"{signature}.{p}" for p in _respell(encoded)
    ]
    assert len(variants) >= 4
    for variant in variants:
        with pytest.raises(MalformedSignedRequest):
            parse_signed_request(variant, Secret(KEY), now=NOW)
        with pytest.raises(MalformedSignedRequest):
            canonical_signed_request(variant)
    for spaced in (f" {signed}", f"{signed}\n", f"\t{signed} "):
        assert canonical_signed_request(spaced) == signed
