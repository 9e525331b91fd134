"""Webhook signatures: the header format, verification, staleness, replays and key rotation."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from igtoken.core.exceptions import (
    MalformedSignatureHeader,
    ReplayedSignature,
    SignatureMismatch,
    StaleSignature,
    WebhookSignatureError,
)
from igtoken.core.secret import Secret
from igtoken.notify import ReplayGuard, sign, verify

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KEY = Secret("whsec_test_0123456789abcdef")
OLD_KEY = Secret("whsec_old_fedcba9876543210")
BODY = b'{"id":"e1","type":"token.refreshed","created":"2026-03-01T12:00:00Z","data":{"account_id":"1"}}'


def test_the_header_is_t_and_hex_hmac_of_timestamp_dot_body():
    """v1 is HMAC-SHA256(secret, f"{t}." + raw body), as documented for receivers in any language."""
    header = sign(BODY, KEY, NOW)
    t = int(NOW.timestamp())
    expected = hmac.new(KEY.reveal().encode(), f"{t}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={t},v1={expected}"


def test_a_signed_body_verifies_and_returns_the_signing_time():
    """The same bytes, secret and a close clock verify."""
    assert verify(BODY, sign(BODY, KEY, NOW), KEY, NOW + timedelta(seconds=30)) == NOW


@pytest.mark.parametrize(
    "body",
    [BODY.replace(b'"1"', b'"2"'), BODY + b" ", b'{"id": "e1"}'],
)
def test_a_changed_body_does_not_verify(body):
    """Any change to the bytes, even whitespace from re-serialising, breaks the signature."""
    with pytest.raises(SignatureMismatch, match="does not match"):
        verify(body, sign(BODY, KEY, NOW), KEY, NOW)


def test_the_wrong_secret_does_not_verify():
    """A receiver with another secret rejects the request."""
    with pytest.raises(SignatureMismatch):
        verify(BODY, sign(BODY, KEY, NOW), Secret("another-secret-of-enough-length"), NOW)


@pytest.mark.parametrize("skew", [timedelta(seconds=301), timedelta(seconds=-301), timedelta(days=3)])
def test_a_stale_or_future_timestamp_is_rejected(skew):
    """Outside the 5-minute tolerance either way, a correct signature is still rejected."""
    with pytest.raises(StaleSignature, match="more than"):
        verify(BODY, sign(BODY, KEY, NOW), KEY, NOW + skew)


def test_a_custom_tolerance_is_honoured():
    """A receiver may narrow the window."""
    header = sign(BODY, KEY, NOW)
    with pytest.raises(StaleSignature):
        verify(BODY, header, KEY, NOW + timedelta(seconds=11), tolerance=timedelta(seconds=10))


def test_a_replayed_request_is_rejected_by_the_guard():
    """The exact same signed request, seen twice within the window, is a replay."""
    guard = ReplayGuard()
    header = sign(BODY, KEY, NOW)
    verify(BODY, header, KEY, NOW, replay_guard=guard)
    with pytest.raises(ReplayedSignature, match="already accepted"):
        verify(BODY, header, KEY, NOW + timedelta(seconds=5), replay_guard=guard)


def test_the_guard_forgets_what_the_timestamp_check_already_rejects():
    """Memory stays bounded: entries older than the window are dropped, and the stale check takes over."""
    guard = ReplayGuard()
    verify(BODY, sign(BODY, KEY, NOW), KEY, NOW, replay_guard=guard)
    later = NOW + timedelta(minutes=10)
    verify(BODY, sign(BODY, KEY, later), KEY, later, replay_guard=guard)
    assert len(guard) == 1
    with pytest.raises(StaleSignature):
        verify(BODY, sign(BODY, KEY, NOW), KEY, later, replay_guard=guard)


def test_a_retried_delivery_is_signed_afresh_and_passes_the_guard():
    """A new timestamp makes a new signature: retries are not mistaken for replays."""
    guard = ReplayGuard()
    verify(BODY, sign(BODY, KEY, NOW), KEY, NOW, replay_guard=guard)
    verify(
        BODY,
        sign(BODY, KEY, NOW + timedelta(seconds=10)),
        KEY,
        NOW + timedelta(seconds=10),
        replay_guard=guard,
    )


def test_rotation_signs_with_both_secrets_and_either_verifies():
    """While rotating, the header carries one v1 per secret; receivers on the old or new secret accept."""
    header = sign(BODY, (KEY, OLD_KEY), NOW)
    assert header.count("v1=") == 2
    assert verify(BODY, header, OLD_KEY, NOW) == NOW
    assert verify(BODY, header, KEY, NOW) == NOW
    assert verify(BODY, sign(BODY, KEY, NOW), [OLD_KEY, KEY], NOW) == NOW


def test_unknown_schemes_are_skipped():
    """A future v2 next to v1 does not break today's receivers."""
    header = sign(BODY, KEY, NOW) + ",v2=whatever"
    assert verify(BODY, header, KEY, NOW) == NOW


@pytest.mark.parametrize(
    ("header", "match"),
    [
        (None, "missing"),
        ("", "missing"),
        ("garbage", "without '='"),
        ("v1=" + "a" * 64, "no t="),
        ("t=1772366400", "no v1"),
        ("t=abc,v1=" + "a" * 64, "exactly one t="),
        ("t=1,t=2,v1=" + "a" * 64, "exactly one t="),
        ("t=1772366400,v1=XYZ", "64 lowercase hex"),
        ("t=1772366400,v1=" + "a" * 5000, "too long"),
    ],
)
def test_malformed_headers_get_specific_errors(header, match):
    """Each way a header can be wrong has its own message."""
    with pytest.raises(MalformedSignatureHeader, match=match):
        verify(BODY, header, KEY, NOW)


def test_all_signature_errors_share_one_base_and_are_value_errors():
    """Receivers can catch WebhookSignatureError (or ValueError) once."""
    for cls in (MalformedSignatureHeader, SignatureMismatch, StaleSignature, ReplayedSignature):
        assert issubclass(cls, WebhookSignatureError)
        assert issubclass(cls, ValueError)


def test_bodies_must_be_raw_bytes_and_times_aware():
    """A str body (likely re-serialised) or a naive clock is refused with a clear message."""
    with pytest.raises(TypeError, match="raw body as bytes"):
        sign(BODY.decode(), KEY, NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        verify(BODY, sign(BODY, KEY, NOW), KEY, datetime(2026, 3, 1, 12))  # noqa: DTZ001
    with pytest.raises(TypeError, match="Secret"):
        sign(BODY, "plain-string-secret", NOW)  # type: ignore[arg-type]
