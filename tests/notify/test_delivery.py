"""Webhook delivery over real HTTP on loopback: signing, retries, backoff, classification and the log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from igtoken.core.exceptions import ConfigurationError
from igtoken.core.secret import Secret
from igtoken.notify import (
    DEFAULT_RETRY_SCHEDULE,
    DeliveryOutcome,
    DeliveryStatus,
    Endpoint,
    MemoryDeliveryLog,
    Notifier,
    WebhookEventType,
    classify,
    verify,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KEY = Secret("whsec_loopback_0123456789abcdef")
PLANTED = "IGAAT7xQm4ZkP2vLr9sWbN3cYdE5fGh8JkLmNoPqRsTuVwXyZ0aBcDeFgHiJkLmN"
DATA = {"account_id": "17841400000000001", "username": "shop", "expires_at": NOW + timedelta(days=60)}


async def test_a_delivery_reaches_a_real_receiver_that_verifies_it(make_receiver):
    """The receiver gets the exact body with a signature that verifies, plus event and delivery ids."""
    receiver = make_receiver(secret=KEY, now=NOW).start()
    log = MemoryDeliveryLog()
    async with Notifier([Endpoint(receiver.url, KEY)], log) as notifier:
        event = notifier.notify(WebhookEventType.TOKEN_REFRESHED, DATA, NOW)
        attempts = await notifier.run_due(NOW)
    assert [a.outcome for a in attempts] == [DeliveryOutcome.DELIVERED]
    [got] = receiver.received
    assert got.verified, got.error
    assert got.path == "/hooks/igtoken"
    assert got.body == event.body()
    assert json.loads(got.body)["type"] == "token.refreshed"
    assert got.headers["X-Igtoken-Event"] == "token.refreshed"
    assert got.headers["Content-Type"] == "application/json"
    [delivery] = log.all()
    assert got.headers["X-Igtoken-Delivery"] == delivery.id
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        DeliveryStatus.DELIVERED,
        1,
        200,
    )
    assert verify(got.body, got.headers, KEY, NOW) == NOW
    assert got.headers["webhook-id"] == event.id  # the event's id: the same on retries and endpoints


async def test_a_receiver_that_is_down_gets_the_delivery_on_a_later_run(make_receiver):
    """Connection refused is retried; once the receiver is up, the next due run delivers."""
    receiver = make_receiver(secret=KEY, now=NOW)  # bound, not listening: connections are refused
    log = MemoryDeliveryLog()
    async with Notifier([Endpoint(receiver.url, KEY)], log) as notifier:
        notifier.notify(WebhookEventType.ACCOUNT_NEEDS_REAUTH, {"account_id": "1", "reason": "code 190"}, NOW)
        [first] = await notifier.run_due(NOW)
        assert first.outcome is DeliveryOutcome.RETRY
        assert first.error is not None and first.error.startswith("network error: ConnectError")
        assert first.next_attempt_at == NOW + timedelta(seconds=5)
        assert await notifier.run_due(NOW + timedelta(seconds=4)) == []  # not due yet
        receiver.start()
        later = NOW + timedelta(seconds=5)
        receiver.now = later
        [second] = await notifier.run_due(later)
    assert second.outcome is DeliveryOutcome.DELIVERED
    assert [r.verified for r in receiver.received] == [True]
    [delivery] = log.all()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert [a.outcome for a in log.attempts(delivery.id)] == [
        DeliveryOutcome.RETRY,
        DeliveryOutcome.DELIVERED,
    ]


async def test_a_failing_receiver_gets_retries_on_the_backoff_schedule_then_is_given_up(make_receiver):
    """A 500 receiver is retried at 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (over 24 hours in all),
    then the delivery fails; every retry keeps the event's webhook-id."""
    receiver = make_receiver(secret=KEY, now=NOW, statuses=[500] * 20).start()
    log = MemoryDeliveryLog()
    async with Notifier([Endpoint(receiver.url, KEY)], log) as notifier:
        notifier.notify(WebhookEventType.TOKEN_EXPIRING, {"account_id": "1", "threshold_days": 7}, NOW)
        now, waits = NOW, []
        for _ in range(len(DEFAULT_RETRY_SCHEDULE) + 1):
            receiver.now = now
            [attempt] = await notifier.run_due(now)
            assert attempt.status_code == 500
            if attempt.outcome is DeliveryOutcome.RETRY:
                assert attempt.next_attempt_at is not None
                assert await notifier.run_due(attempt.next_attempt_at - timedelta(seconds=1)) == []
                waits.append(attempt.next_attempt_at - now)
                now = attempt.next_attempt_at
        assert await notifier.run_due(now + timedelta(days=30)) == []
    assert waits == list(DEFAULT_RETRY_SCHEDULE)
    assert sum(waits, timedelta()) >= timedelta(hours=24)
    assert attempt.outcome is DeliveryOutcome.FAILED
    assert attempt.error == "HTTP 500; gave up after 8 attempts"
    [delivery] = log.all()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (DeliveryStatus.FAILED, 8, None)
    assert len(receiver.received) == 8
    assert all(r.verified for r in receiver.received)  # every retry is signed afresh and verifies
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1


async def test_a_retry_after_from_the_receiver_is_a_floor(make_receiver):
    """A 429 with Retry-After: 120 waits 120 s, not the 5 s of the schedule."""
    receiver = make_receiver(
        secret=KEY, now=NOW, statuses=[429], extra_headers={"Retry-After": "120"}
    ).start()
    async with Notifier([Endpoint(receiver.url, KEY)]) as notifier:
        notifier.notify(WebhookEventType.TOKEN_REFRESHED, DATA, NOW)
        [attempt] = await notifier.run_due(NOW)
    assert (attempt.outcome, attempt.next_attempt_at) == (DeliveryOutcome.RETRY, NOW + timedelta(seconds=120))


@pytest.mark.parametrize(("status", "note"), [(410, "HTTP 410"), (302, "redirects are not followed")])
async def test_gone_or_a_redirect_is_a_permanent_failure(make_receiver, status, note):
    """410 Gone and redirects are not retried: the delivery fails at once."""
    receiver = make_receiver(secret=KEY, now=NOW, statuses=[status]).start()
    log = MemoryDeliveryLog()
    async with Notifier([Endpoint(receiver.url, KEY)], log) as notifier:
        notifier.notify(WebhookEventType.ACCOUNT_DELETED, {"account_id": "1"}, NOW)
        [attempt] = await notifier.run_due(NOW)
        assert await notifier.run_due(NOW + timedelta(days=1)) == []
    assert attempt.outcome is DeliveryOutcome.FAILED
    assert attempt.error is not None and note in attempt.error
    assert log.all()[0].status is DeliveryStatus.FAILED


async def test_a_receiver_answering_404_during_a_deploy_gets_the_event_later(make_receiver):
    """A 4xx other than 410 is retried: the receiver that answered 404 gets the event once it is back."""
    receiver = make_receiver(secret=KEY, now=NOW, statuses=[404]).start()
    log = MemoryDeliveryLog()
    async with Notifier([Endpoint(receiver.url, KEY)], log) as notifier:
        notifier.notify(WebhookEventType.TOKEN_REFRESHED, DATA, NOW)
        [first] = await notifier.run_due(NOW)
        [second] = await notifier.run_due(NOW + timedelta(minutes=1))
    assert (first.outcome, first.status_code) == (DeliveryOutcome.RETRY, 404)
    assert second.outcome is DeliveryOutcome.DELIVERED
    assert log.all()[0].status is DeliveryStatus.DELIVERED


async def test_a_slow_receiver_times_out_and_is_retried(make_receiver):
    """A receiver slower than the client timeout counts as a transient failure."""
    receiver = make_receiver(secret=KEY, now=NOW, delay=1.0).start()
    client = httpx.AsyncClient(timeout=0.2, trust_env=False)
    async with Notifier([Endpoint(receiver.url, KEY)], client=client) as notifier:
        notifier.notify(WebhookEventType.TOKEN_REFRESHED, DATA, NOW)
        [attempt] = await notifier.run_due(NOW)
    await client.aclose()
    assert attempt.outcome is DeliveryOutcome.RETRY
    assert attempt.error is not None and attempt.error.startswith("timeout:")


async def test_a_receiver_with_another_secret_rejects_and_the_delivery_is_retried(make_receiver):
    """Signature checks really happen: a receiver holding a different secret answers 400, and the
    event is tried again later (the receiver's secret may be mid-rotation), not dropped."""
    receiver = make_receiver(secret=Secret("not-the-secret-we-sign-with"), now=NOW).start()
    async with Notifier([Endpoint(receiver.url, KEY)]) as notifier:
        notifier.notify(WebhookEventType.TOKEN_REFRESHED, DATA, NOW)
        [attempt] = await notifier.run_due(NOW)
    assert (attempt.outcome, attempt.status_code) == (DeliveryOutcome.RETRY, 400)
    assert receiver.received[0].error is not None and "does not match" in receiver.received[0].error


async def test_endpoint_filters_pick_who_gets_what(make_receiver):
    """Each endpoint receives only the event types it subscribed to; no filter means all."""
    everything = make_receiver(secret=KEY, now=NOW).start()
    reauth_only = make_receiver(secret=KEY, now=NOW).start()
    endpoints = [
        Endpoint(everything.url, KEY, name="all"),
        Endpoint(
            reauth_only.url, KEY, events=frozenset({WebhookEventType.ACCOUNT_NEEDS_REAUTH}), name="pager"
        ),
    ]
    async with Notifier(endpoints) as notifier:
        notifier.notify(WebhookEventType.TOKEN_REFRESHED, DATA, NOW)
        notifier.notify(WebhookEventType.ACCOUNT_NEEDS_REAUTH, {"account_id": "1"}, NOW)
        await notifier.run_due(NOW)
    assert sorted(json.loads(r.body)["type"] for r in everything.received) == [
        "account.needs_reauth",
        "token.refreshed",
    ]
    assert [json.loads(r.body)["type"] for r in reauth_only.received] == ["account.needs_reauth"]


async def test_a_delivery_for_a_removed_endpoint_fails_instead_of_vanishing(make_receiver):
    """Nothing is lost silently: a pending delivery whose endpoint left the config is marked failed."""
    receiver = make_receiver(secret=KEY, now=NOW)
    log = MemoryDeliveryLog()
    async with Notifier([Endpoint(receiver.url, KEY, name="old")], log) as first:
        first.notify(WebhookEventType.TOKEN_REFRESHED, DATA, NOW)
    async with Notifier([], log) as second:
        [attempt] = await second.run_due(NOW)
    assert attempt.outcome is DeliveryOutcome.FAILED
    assert attempt.error == "endpoint 'old' is no longer configured"


async def test_no_token_reaches_any_receiver_or_the_log(make_receiver):
    """A token planted in every input a caller controls appears in no body, header or log entry."""
    receiver = make_receiver(secret=KEY, now=NOW).start()
    log = MemoryDeliveryLog()
    async with Notifier([Endpoint(receiver.url, KEY)], log) as notifier:
        notifier.notify(
            WebhookEventType.TOKEN_REFRESH_FAILED,
            {
                "account_id": "1",
                "username": "shop",
                "error": f"GET /refresh_access_token?access_token={PLANTED} -> 500",
                "reason": f"token {PLANTED} rejected",
            },
            NOW,
        )
        with pytest.raises(TypeError):
            notifier.notify(
                WebhookEventType.TOKEN_REFRESHED, {"account_id": "1", "reason": Secret(PLANTED)}, NOW
            )
        with pytest.raises(ValueError, match="not allowed"):
            notifier.notify(WebhookEventType.TOKEN_REFRESHED, {"access_token": PLANTED}, NOW)
        await notifier.run_due(NOW)
    [got] = receiver.received
    assert PLANTED not in got.body.decode()
    assert all(PLANTED not in value for value in got.headers.values())
    assert len(log.all()) == 1  # the refused events were never enqueued
    assert all(PLANTED.encode() not in d.body for d in log.all())


async def test_notify_without_subscribers_enqueues_nothing():
    """An installation with no endpoints records no deliveries and sends nothing."""
    log = MemoryDeliveryLog()
    async with Notifier([], log) as notifier:
        event = notifier.notify(WebhookEventType.ACCOUNT_DEAUTHORIZED, {"account_id": "1"}, NOW)
        assert await notifier.run_due(NOW) == []
    assert event.type is WebhookEventType.ACCOUNT_DEAUTHORIZED
    assert log.all() == []


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, DeliveryOutcome.DELIVERED), (204, DeliveryOutcome.DELIVERED), (408, DeliveryOutcome.RETRY),
     (429, DeliveryOutcome.RETRY), (500, DeliveryOutcome.RETRY), (503, DeliveryOutcome.RETRY),
     (400, DeliveryOutcome.RETRY), (401, DeliveryOutcome.RETRY), (404, DeliveryOutcome.RETRY),
     (410, DeliveryOutcome.FAILED), (301, DeliveryOutcome.FAILED)],
)  # fmt: skip
def test_status_classification(status, outcome):
    """2xx delivered; 410 Gone and redirects permanent; every other 4xx and 5xx retried."""
    assert classify(status) is outcome


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"url": "ftp://example.invalid/x"}, "absolute http"),
        ({"url": "/relative"}, "absolute http"),
        ({"url": "https://user:pw@example.invalid/x"}, "credentials"),
        ({"secret": Secret("short")}, "shorter than 16"),
        ({"secret": "a-plain-string-secret-value"}, "must be a Secret"),
        ({"events": frozenset({"token.nope"})}, "filter"),
        ({"events": frozenset()}, "empty"),
    ],
)
def test_bad_endpoint_configuration_is_refused(kwargs, match):
    """Each endpoint mistake gets a specific ConfigurationError."""
    config = {"url": "https://hooks.example.invalid/igtoken", "secret": KEY, **kwargs}
    with pytest.raises(ConfigurationError, match=match):
        Endpoint(**config)


async def test_duplicate_endpoint_names_are_refused():
    """Deliveries find their endpoint by name, so names must be unique."""
    endpoint = Endpoint("https://hooks.example.invalid/a", KEY)
    with pytest.raises(ConfigurationError, match="two webhook endpoints"):
        Notifier([endpoint, endpoint])


def test_endpoint_filters_accept_names_and_keep_secrets_out_of_repr():
    """Filters given as strings become WebhookEventTypes; the repr never shows the secret."""
    endpoint = Endpoint("https://hooks.example.invalid/a", KEY, events=frozenset({"token.expiring"}))  # type: ignore[arg-type]
    assert endpoint.events == frozenset({WebhookEventType.TOKEN_EXPIRING})
    assert endpoint.name == "https://hooks.example.invalid/a"
    assert KEY.reveal() not in repr(endpoint)
