"""Event payloads: their shape, and that no token or secret can ever ride along."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from igtoken.core.secret import Secret
from igtoken.notify import WebhookEventType, build_event, redact

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PLANTED = "IGAAT7xQm4ZkP2vLr9sWbN3cYdE5fGh8JkLmNoPqRsTuVwXyZ0aBcDeFgHiJkLmN"  # a token-shaped value


def test_the_payload_has_id_type_created_and_data():
    """Receivers get {id, type, created, data} with an ISO 8601 UTC time and a uuid id."""
    event = build_event(
        WebhookEventType.TOKEN_REFRESHED,
        {"account_id": "17841400000000001", "username": "shop", "expires_at": NOW + timedelta(days=60)},
        NOW,
    )
    payload = json.loads(event.body())
    assert set(payload) == {"id", "type", "created", "data"}
    assert uuid.UUID(payload["id"]).version == 4
    assert payload["type"] == "token.refreshed"
    assert payload["created"] == "2026-03-01T12:00:00Z"
    assert payload["data"] == {
        "account_id": "17841400000000001",
        "username": "shop",
        "expires_at": "2026-04-30T12:00:00Z",
    }


def test_times_in_other_zones_are_sent_in_utc():
    """An aware time in another zone is normalised to Z."""
    paris = timezone(timedelta(hours=1))
    event = build_event("token.expiring", {"expires_at": datetime(2026, 3, 1, 13, tzinfo=paris)}, NOW)
    assert json.loads(event.body())["data"]["expires_at"] == "2026-03-01T12:00:00Z"


@pytest.mark.parametrize("event_type", list(WebhookEventType))
def test_every_event_type_builds(event_type):
    """All six event types are accepted by name and by enum."""
    assert build_event(event_type.value, {"account_id": "1"}, NOW).type is event_type


def test_a_token_planted_in_error_text_is_redacted():
    """A token that slipped into an error message never reaches the body."""
    event = build_event(
        WebhookEventType.TOKEN_REFRESH_FAILED,
        {"account_id": "1", "error": f"refresh failed for {PLANTED}: (#190) session expired"},
        NOW,
    )
    body = event.body().decode()
    assert PLANTED not in body
    assert "[redacted]" in body
    assert "(#190) session expired" in body


def test_secret_query_parameters_in_urls_are_redacted():
    """access_token=, client_secret= and friends in a URL inside a message are blanked."""
    url = "https://graph.instagram.com/refresh_access_token?grant_type=ig_refresh_token"
    assert redact(f"GET {url}&access_token=abc123 failed") == f"GET {url}&access_token=[redacted] failed"
    assert "s3cr3t" not in redact("client_secret=s3cr3t&x=1")


def test_a_secret_value_is_refused():
    """Passing a Secret is a bug upstream, refused before anything is stored."""
    with pytest.raises(TypeError, match="tokens and secrets never leave igtoken"):
        build_event(WebhookEventType.TOKEN_REFRESHED, {"reason": Secret(PLANTED)}, NOW)


@pytest.mark.parametrize("field", ["access_token", "token", "client_secret", "value"])
def test_fields_outside_the_allowed_set_are_refused(field):
    """Only account facts have a field name; there is no field a token could go in."""
    with pytest.raises(ValueError, match=f"field {field!r} is not allowed"):
        build_event(WebhookEventType.TOKEN_REFRESHED, {field: "x"}, NOW)


def test_nested_values_and_naive_times_are_refused():
    """data is flat JSON scalars and aware datetimes."""
    with pytest.raises(ValueError, match="string, number"):
        build_event(WebhookEventType.TOKEN_REFRESHED, {"reason": {"token": PLANTED}}, NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        build_event(WebhookEventType.TOKEN_REFRESHED, {"expires_at": datetime(2026, 3, 1)}, NOW)  # noqa: DTZ001


def test_unknown_event_types_are_refused_with_the_known_list():
    """A typo in an event type names the valid ones."""
    with pytest.raises(ValueError, match=r"token\.refreshed"):
        build_event("token.refresh", {}, NOW)
