"""The facade the rest of igtoken uses: ``notify`` records an event's deliveries, ``run_due`` sends them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType

import httpx

from igtoken.notify.delivery import (
    DEFAULT_RETRY_SCHEDULE,
    Deliverer,
    Endpoint,
    check_endpoints,
    deliveries_for,
)
from igtoken.notify.events import Event, WebhookEventType, build_event
from igtoken.notify.log import Attempt, DeliveryLog, MemoryDeliveryLog


class Notifier:
    """Outbound webhooks for one installation: its endpoints, its delivery log, its sender.

    ``notify`` never touches the network: it writes the deliveries to the log, so nothing
    is lost if the process stops; ``run_due`` (called from the worker's loop) sends them.
    """

    def __init__(
        self,
        endpoints: Sequence[Endpoint],
        log: DeliveryLog | None = None,
        *,
        client: httpx.AsyncClient | None = None,
        retry_schedule: tuple[timedelta, ...] = DEFAULT_RETRY_SCHEDULE,
    ) -> None:
        check_endpoints(endpoints)
        self.endpoints = tuple(endpoints)
        self.log: DeliveryLog = log if log is not None else MemoryDeliveryLog()
        self.deliverer = Deliverer(self.log, self.endpoints, client=client, retry_schedule=retry_schedule)
        #: Called with every attempt made (metrics); an error in it is never the delivery's problem.
        self.on_attempt: Callable[[Attempt], None] | None = None

    def notify(self, event_type: WebhookEventType | str, data: Mapping[str, object], now: datetime) -> Event:
        """Record ``event_type`` with ``data`` for every subscribed endpoint; return the event.

        Raises ``ValueError``/``TypeError`` (from :func:`~igtoken.notify.build_event`) if ``data``
        holds a field or value that could carry a token.
        """
        event = build_event(event_type, data, now)
        deliveries = deliveries_for(event, self.endpoints, now)
        if deliveries:
            self.log.enqueue(deliveries)
        return event

    async def run_due(self, now: datetime, *, limit: int = 100) -> list[Attempt]:
        """Send every delivery due at ``now``; see :meth:`Deliverer.run_due`."""
        attempts = await self.deliverer.run_due(now, limit=limit)
        if self.on_attempt is not None:
            for attempt in attempts:
                self.on_attempt(attempt)
        return attempts

    async def aclose(self) -> None:
        """Release the HTTP client, if the notifier made it."""
        await self.deliverer.aclose()

    async def __aenter__(self) -> Notifier:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
