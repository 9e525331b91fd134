"""Standard Webhooks signatures: the headers, verification with the stock library, staleness,
replays and key rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from igtoken.core.exceptions import (
    MalformedSignatureHeader,
    ReplayedSignature,
    SignatureMismatch,
    StaleSignature,
    WebhookSignatureError,
)
from igtoken.core.secret import Secret
from igtoken.notify import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    ReplayGuard,
    generate_secret,
    sign,
    verify,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KEY = Secret("whsec_" + base64.b64encode(b"k" * 32).decode())
OLD_KEY = Secret("whsec_" + base64.b64encode(b"o" * 32).decode())
MSG = "5f0c2a6e-8d0b-4a51-9d3e-3c3f2b7c9a10"
BODY = b'{"id":"e1","type":"token.refreshed","created":"2026-03-01T12:00:00Z","data":{"account_id":"1"}}'


def test_the_headers_are_id_timestamp_and_base64_hmac_of_id_timestamp_body():
    """v1 is base64 HMAC-SHA256(decoded whsec_ key, f"{id}.{ts}." + raw body), as the spec says."""
    headers = sign(MSG, BODY, KEY, NOW)
    ts = int(NOW.timestamp())
    mac = hmac.new(b"k" * 32, f"{MSG}.{ts}.".encode() + BODY, hashlib.sha256).digest()
    assert headers == {
        ID_HEADER: MSG,
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: "v1," + base64.b64encode(mac).decode(),
    }


def test_the_stock_standardwebhooks_library_verifies_what_igtoken_signs():
    """A receiver using the ``standardwebhooks`` package accepts the request (it reads the real clock)."""
    now = datetime.now(UTC)
    secret = generate_secret()
    assert secret.reveal().startswith("whsec_")
    payload = Webhook(secret.reveal()).verify(BODY, sign(MSG, BODY, secret, now))
    assert payload["type"] == "token.refreshed"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret.reveal()).verify(BODY + b" ", sign(MSG, BODY, secret, now))


def test_a_plain_secret_is_used_as_its_bytes_and_the_library_takes_it_raw():
    """Installations with a non-whsec_ secret: receivers pass its UTF-8 bytes to the library."""
    plain = Secret("a-plain-secret-of-enough-length")
    now = datetime.now(UTC)
    assert Webhook(plain.reveal().encode()).verify(BODY, sign(MSG, BODY, plain, now))


def test_igtoken_verifies_what_the_stock_library_signs():
    """The two agree both ways."""
    now = datetime.now(UTC).replace(microsecond=0)
    signature = Webhook(KEY.reveal()).sign(MSG, now, BODY.decode())
    headers = {ID_HEADER: MSG, TIMESTAMP_HEADER: str(int(now.timestamp())), SIGNATURE_HEADER: signature}
    assert verify(BODY, headers, KEY, now) == now


def test_a_signed_body_verifies_and_returns_the_signing_time():
    """The same bytes, secret and a close clock verify (header names in any case)."""
    headers = {k.title(): v for k, v in sign(MSG, BODY, KEY, NOW).items()}
    assert verify(BODY, headers, KEY, NOW + timedelta(seconds=30)) == NOW


@pytest.mark.parametrize("body", [BODY.replace(b'"1"', b'"2"'), BODY + b" ", b'{"id": "e1"}'])
def test_a_changed_body_does_not_verify(body):
    """Any change to the bytes, even whitespace from re-serialising, breaks the signature."""
    with pytest.raises(SignatureMismatch, match="does not match"):
        verify(body, sign(MSG, BODY, KEY, NOW), KEY, NOW)


def test_a_changed_id_does_not_verify():
    """The id is signed: a receiver deduplicating by it cannot be fooled by a swapped id."""
    headers = {**sign(MSG, BODY, KEY, NOW), ID_HEADER: "another-id"}
    with pytest.raises(SignatureMismatch):
        verify(BODY, headers, KEY, NOW)


def test_the_wrong_secret_does_not_verify():
    """A receiver with another secret rejects the request."""
    with pytest.raises(SignatureMismatch):
        verify(BODY, sign(MSG, BODY, KEY, NOW), OLD_KEY, NOW)


@pytest.mark.parametrize("skew", [timedelta(seconds=301), timedelta(seconds=-301), timedelta(days=3)])
def test_a_stale_or_future_timestamp_is_rejected(skew):
    """Outside the 5-minute tolerance either way, a correct signature is still rejected."""
    with pytest.raises(StaleSignature, match="more than"):
        verify(BODY, sign(MSG, BODY, KEY, NOW), KEY, NOW + skew)


def test_a_custom_tolerance_is_honoured():
    """A receiver may narrow the window."""
    headers = sign(MSG, BODY, KEY, NOW)
    with pytest.raises(StaleSignature):
        verify(BODY, headers, KEY, NOW + timedelta(seconds=11), tolerance=timedelta(seconds=10))


def test_a_replayed_request_is_rejected_by_the_guard():
    """The exact same signed request, seen twice within the window, is a replay."""
    guard = ReplayGuard()
    headers = sign(MSG, BODY, KEY, NOW)
    verify(BODY, headers, KEY, NOW, replay_guard=guard)
    with pytest.raises(ReplayedSignature, match="already accepted"):
        verify(BODY, headers, KEY, NOW + timedelta(seconds=5), replay_guard=guard)


def test_a_retry_keeps_its_id_but_is_signed_afresh_and_passes_the_guard():
    """A retry has the same webhook-id (for the receiver's idempotency) and a new timestamp."""
    guard = ReplayGuard()
    verify(BODY, sign(MSG, BODY, KEY, NOW), KEY, NOW, replay_guard=guard)
    later = NOW + timedelta(seconds=5)
    verify(BODY, sign(MSG, BODY, KEY, later), KEY, later, replay_guard=guard)


def test_the_guard_forgets_what_the_timestamp_check_already_rejects():
    """Memory stays bounded: entries older than the window are dropped."""
    guard = ReplayGuard()
    verify(BODY, sign(MSG, BODY, KEY, NOW), KEY, NOW, replay_guard=guard)
    later = NOW + timedelta(minutes=10)
    verify(BODY, sign("other", BODY, KEY, later), KEY, later, replay_guard=guard)
    assert len(guard) == 1


def test_rotation_signs_with_every_secret_and_either_verifies():
    """While rotating, the header carries one v1 per secret, space-separated; old or new accepts."""
    headers = sign(MSG, BODY, (KEY, OLD_KEY), NOW)
    assert len(headers[SIGNATURE_HEADER].split(" ")) == 2
    assert verify(BODY, headers, OLD_KEY, NOW) == NOW
    assert verify(BODY, headers, KEY, NOW) == NOW
    assert verify(BODY, sign(MSG, BODY, KEY, NOW), [OLD_KEY, KEY], NOW) == NOW
    now = datetime.now(UTC)
    assert Webhook(OLD_KEY.reveal()).verify(BODY, sign(MSG, BODY, (KEY, OLD_KEY), now))


def test_unknown_schemes_are_skipped():
    """A future scheme next to v1 does not break today's receivers."""
    headers = sign(MSG, BODY, KEY, NOW)
    headers[SIGNATURE_HEADER] = "v1a,whatever " + headers[SIGNATURE_HEADER]
    assert verify(BODY, headers, KEY, NOW) == NOW


GOOD_SIG = "v1," + base64.b64encode(b"x" * 32).decode()


@pytest.mark.parametrize(
    ("headers", "match"),
    [
        ({}, "webhook-id header is missing"),
        ({ID_HEADER: MSG, SIGNATURE_HEADER: GOOD_SIG}, "webhook-timestamp header is missing"),
        ({ID_HEADER: MSG, TIMESTAMP_HEADER: "1772366400"}, "webhook-signature header is missing"),
        ({ID_HEADER: MSG, TIMESTAMP_HEADER: "abc", SIGNATURE_HEADER: GOOD_SIG}, "Unix seconds"),
        ({ID_HEADER: MSG, TIMESTAMP_HEADER: "1772366400", SIGNATURE_HEADER: "garbage"}, "without ','"),
        ({ID_HEADER: MSG, TIMESTAMP_HEADER: "1772366400", SIGNATURE_HEADER: "v2,abc"}, "no v1"),
        ({ID_HEADER: MSG, TIMESTAMP_HEADER: "1772366400", SIGNATURE_HEADER: "v1,!!"}, "base64"),
        ({ID_HEADER: MSG, TIMESTAMP_HEADER: "1772366400", SIGNATURE_HEADER: "v1,YWJj"}, "32 bytes"),
        ({ID_HEADER: MSG, TIMESTAMP_HEADER: "1772366400", SIGNATURE_HEADER: "v1," + "a" * 5000}, "too long"),
    ],
)
def test_malformed_headers_get_specific_errors(headers, match):
    """Each way the headers can be wrong has its own message."""
    with pytest.raises(MalformedSignatureHeader, match=match):
        verify(BODY, headers, KEY, NOW)


def test_all_signature_errors_share_one_base_and_are_value_errors():
    """Receivers can catch WebhookSignatureError (or ValueError) once."""
    for cls in (MalformedSignatureHeader, SignatureMismatch, StaleSignature, ReplayedSignature):
        assert issubclass(cls, WebhookSignatureError)
        assert issubclass(cls, ValueError)


def test_bodies_must_be_raw_bytes_times_aware_and_ids_plain():
    """A str body (likely re-serialised), a naive clock or an id with a dot is refused clearly."""
    with pytest.raises(TypeError, match="raw body as bytes"):
        sign(MSG, BODY.decode(), KEY, NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        verify(BODY, sign(MSG, BODY, KEY, NOW), KEY, datetime(2026, 3, 1, 12))  # noqa: DTZ001
    with pytest.raises(TypeError, match="Secret"):
        sign(MSG, BODY, "plain-string-secret", NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="webhook id"):
        sign("a.b", BODY, KEY, NOW)
