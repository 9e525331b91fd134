"""Send due webhook deliveries: sign, POST, classify the answer, record the attempt, schedule a retry.

Requests are signed as Standard Webhooks (:mod:`igtoken.notify.signing`); ``webhook-id`` is the
event's id, the same on every retry and to every endpoint. A 2xx is delivered. Any 4xx but 410,
a 5xx, a timeout or a network error is retried on :data:`DEFAULT_RETRY_SCHEDULE` (5 s, 5 min,
30 min, 2 h, 5 h, 10 h, 10 h: about 27.5 hours, then give up), with the receiver's
``Retry-After`` honoured as a floor: a receiver answering 401 while its secret is being rotated,
or 404 during a deploy, gets the event once it is fixed. 410 Gone (the receiver says the endpoint
is gone for good) and redirects (not followed, so retrying would not change them) are permanent
failures.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import urlsplit

import httpx

import igtoken
from igtoken.core.exceptions import ConfigurationError
from igtoken.core.secret import Secret
from igtoken.core.webhook_secret import check_signing_secret
from igtoken.notify.events import Event, WebhookEventType, redact
from igtoken.notify.log import Attempt, Delivery, DeliveryLog, DeliveryOutcome
from igtoken.notify.signing import sign

#: The waits after each failed attempt (the schedule Standard Webhooks senders use): the 8th
#: attempt comes about 27.5 hours after the first, so a receiver down for a day loses nothing.
DEFAULT_RETRY_SCHEDULE: Final = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
DEFAULT_TIMEOUT: Final = httpx.Timeout(10.0, connect=5.0)
#: The longest ``Retry-After`` a receiver can impose; a longer one is treated as this.
MAX_RETRY_AFTER: Final = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where events go: a URL, its signing secret, and optionally which event types it wants.

    ``name`` identifies the endpoint in the delivery log (default: the URL); deliveries look
    their endpoint up by name when they are sent, so a changed URL or secret applies to
    deliveries still pending. ``secret`` may be a tuple (new, old) while rotating.
    """

    url: str
    secret: Secret | tuple[Secret, ...]
    events: frozenset[WebhookEventType] | None = None
    name: str = ""

    def __post_init__(self) -> None:
        parts = urlsplit(self.url) if isinstance(self.url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                f"webhook endpoint URL must be an absolute http(s) URL, got {self.url!r}"
            )
        if parts.username or parts.password:
            raise ConfigurationError(
                "webhook endpoint URL must not carry credentials; the signature authenticates"
            )
        secrets = self.secret if isinstance(self.secret, tuple) else (self.secret,)
        if not secrets or not all(isinstance(s, Secret) for s in secrets):
            raise ConfigurationError(
                "webhook endpoint secret must be a Secret (or a tuple of them while rotating)"
            )
        for secret in secrets:
            check_signing_secret(secret)
        if self.events is not None:
            try:
                wanted = frozenset(WebhookEventType(e) for e in self.events)
            except ValueError as exc:
                raise ConfigurationError(f"webhook endpoint filter: {exc}") from None
            if not wanted:
                raise ConfigurationError("webhook endpoint filter is empty; use None for every event type")
            object.__setattr__(self, "events", wanted)
        if not self.name:
            object.__setattr__(self, "name", self.url)

    @property
    def secrets(self) -> tuple[Secret, ...]:
        """The signing secrets, newest first."""
        return self.secret if isinstance(self.secret, tuple) else (self.secret,)

    def wants(self, event_type: WebhookEventType) -> bool:
        """Whether this endpoint subscribes to ``event_type``."""
        return self.events is None or event_type in self.events


def deliveries_for(event: Event, endpoints: Iterable[Endpoint], now: datetime) -> list[Delivery]:
    """The deliveries ``event`` makes, one per subscribed endpoint, all due at ``now``.

    Pure, so a caller can write them in the same transaction as the change they report.
    """
    body = event.body()
    return [
        Delivery(
            id=str(uuid.uuid4()),
            endpoint=endpoint.name,
            event_id=event.id,
            event_type=event.type.value,
            body=body,
            created_at=now,
            next_attempt_at=now,
        )
        for endpoint in endpoints
        if endpoint.wants(event.type)
    ]


def classify(status_code: int) -> DeliveryOutcome:
    """Delivered on 2xx; give up on 410 Gone and on redirects; retry everything else (4xx, 5xx)."""
    if 200 <= status_code < 300:
        return DeliveryOutcome.DELIVERED
    if status_code == 410 or status_code < 200 or 300 <= status_code < 400:
        return DeliveryOutcome.FAILED
    return DeliveryOutcome.RETRY


def check_endpoints(endpoints: Sequence[Endpoint]) -> dict[str, Endpoint]:
    """Index endpoints by name, rejecting duplicates."""
    by_name: dict[str, Endpoint] = {}
    for endpoint in endpoints:
        if not isinstance(endpoint, Endpoint):
            raise ConfigurationError(f"expected an Endpoint, got {type(endpoint).__name__}")
        if endpoint.name in by_name:
            raise ConfigurationError(f"two webhook endpoints are named {endpoint.name!r}")
        by_name[endpoint.name] = endpoint
    return by_name


class Deliverer:
    """Sends what the log says is due. One per process; safe to call ``run_due`` from a loop.

    Pass ``client`` to control proxies or TLS; by default an ``httpx.AsyncClient`` is made
    that ignores proxy environment variables (libraries take explicit arguments) and
    follows no redirects.
    """

    def __init__(
        self,
        log: DeliveryLog,
        endpoints: Sequence[Endpoint],
        *,
        client: httpx.AsyncClient | None = None,
        retry_schedule: tuple[timedelta, ...] = DEFAULT_RETRY_SCHEDULE,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        concurrency: int = 8,
    ) -> None:
        self._by_name = check_endpoints(endpoints)
        if not retry_schedule or any(
            not isinstance(step, timedelta) or step <= timedelta(0) for step in retry_schedule
        ):
            raise ConfigurationError(
                "the webhook retry schedule must be a non-empty tuple of positive timedeltas"
            )
        if concurrency < 1:
            raise ConfigurationError("concurrency must be at least 1")
        self.log = log
        self.retry_schedule = tuple(retry_schedule)
        self.concurrency = concurrency
        self._owns_client = client is None
        self.client = client or httpx.AsyncClient(timeout=timeout, trust_env=False, follow_redirects=False)

    async def run_due(self, now: datetime, *, limit: int = 100) -> list[Attempt]:
        """Send every delivery due at ``now`` (up to ``limit``) and return the attempts made."""
        due = await asyncio.to_thread(self.log.due, now, limit)
        gate = asyncio.Semaphore(self.concurrency)

        async def one(delivery: Delivery) -> Attempt:
            async with gate:
                attempt = await self._attempt(delivery, now)
            await asyncio.to_thread(self.log.record_attempt, attempt)
            return attempt

        return list(await asyncio.gather(*(one(d) for d in due)))

    async def _attempt(self, delivery: Delivery, now: datetime) -> Attempt:
        endpoint = self._by_name.get(delivery.endpoint)
        if endpoint is None:
            return Attempt(
                delivery.id,
                now,
                DeliveryOutcome.FAILED,
                error=f"endpoint {delivery.endpoint!r} is no longer configured",
            )
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"igtoken-webhooks/{igtoken.__version__}",
            **sign(delivery.event_id or delivery.id, delivery.body, endpoint.secrets, now),
            "X-Igtoken-Event": delivery.event_type,
            "X-Igtoken-Delivery": delivery.id,
        }
        try:
            response = await self.client.post(endpoint.url, content=delivery.body, headers=headers)
        except httpx.TimeoutException as exc:
            return self._retry_or_give_up(delivery, now, None, f"timeout: {type(exc).__name__}")
        except httpx.TransportError as exc:
            return self._retry_or_give_up(
                delivery, now, None, f"network error: {type(exc).__name__}: {redact(str(exc))}"
            )
        outcome = classify(response.status_code)
        if outcome is DeliveryOutcome.DELIVERED:
            return Attempt(delivery.id, now, outcome, status_code=response.status_code)
        error = f"HTTP {response.status_code}"
        if outcome is DeliveryOutcome.FAILED:
            if 300 <= response.status_code < 400:
                error += " (redirects are not followed; configure the final URL)"
            return Attempt(delivery.id, now, outcome, status_code=response.status_code, error=error)
        return self._retry_or_give_up(
            delivery, now, response.status_code, error, _retry_after(response.headers.get("Retry-After"))
        )

    def _retry_or_give_up(
        self,
        delivery: Delivery,
        now: datetime,
        status_code: int | None,
        error: str,
        retry_after: timedelta | None = None,
    ) -> Attempt:
        made = delivery.attempts + 1
        if made > len(self.retry_schedule):
            return Attempt(
                delivery.id,
                now,
                DeliveryOutcome.FAILED,
                status_code,
                f"{error}; gave up after {made} attempts",
            )
        wait = self.retry_schedule[made - 1]
        if retry_after is not None:
            wait = max(wait, min(retry_after, MAX_RETRY_AFTER))
        return Attempt(
            delivery.id, now, DeliveryOutcome.RETRY, status_code, error, next_attempt_at=now + wait
        )

    async def aclose(self) -> None:
        """Close the HTTP client if this deliverer made it."""
        if self._owns_client:
            await self.client.aclose()


def _retry_after(value: str | None) -> timedelta | None:
    # Only the seconds form: an HTTP date would need the clock, which this module does not read.
    if value is None or not value.strip().isdigit():
        return None
    return timedelta(seconds=int(value.strip()))
