"""Prometheus metrics on a registry of the app's own (never the global one), in base units.

Counters are bumped where things happen (the refresh worker, token reads, webhook
intake, proxied calls); the inventory gauges (accounts by status, seconds to expiry, the
refresh backlog, webhook deliveries by status) are read from an
:data:`~igtoken.service.interfaces.InventorySource` at scrape time, with a fixed number of
aggregate queries however many accounts there are (:func:`igtoken.vault.stats.ops_snapshot`).

Names follow Prometheus conventions: ``_total`` counters, ``_seconds`` and ``_ratio`` units.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Scope

from igtoken.core.usage import Usage
from igtoken.service.interfaces import InventorySource
from igtoken.service.observe import ObservedRequestMiddleware, route_template
from igtoken.vault.stats import Inventory

if TYPE_CHECKING:
    from igtoken.vault import Vault

log = logging.getLogger("igtoken.service.metrics")

_DAY = 86400.0
#: Upper bounds (seconds: 1, 3, 7, 14, 30, 45, 60 days) of the seconds-to-expiry gauge histogram;
#: Instagram tokens live 60 days.
EXPIRY_BUCKETS: Sequence[float] = tuple(days * _DAY for days in (1, 3, 7, 14, 30, 45, 60))

#: The Prometheus text format's media type.
METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST


class _InventoryCollector(Collector):
    def __init__(self, source: InventorySource) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("igtoken_inventory_up", "1 if the inventory could be read at this scrape")
        try:
            inventory = self._source()
        except Exception:
            log.exception("could not read the inventory for /metrics")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        accounts = GaugeMetricFamily("igtoken_accounts", "Connected accounts by status", labels=["status"])
        for status, count in sorted(inventory.accounts_by_status.items()):
            accounts.add_metric([status], count)
        yield accounts
        buckets = [(f"{bound:g}", count) for bound, count in inventory.expiry_buckets]
        buckets.append(("+Inf", inventory.expiry_count))
        yield GaugeHistogramMetricFamily(
            "igtoken_token_expiry_seconds",
            "Live tokens by seconds left before they expire",
            buckets=buckets,
            gsum_value=inventory.expiry_sum_seconds,
        )
        overdue = GaugeMetricFamily(
            "igtoken_refresh_overdue_tokens", "Live tokens past their refresh time (the backlog)"
        )
        overdue.add_metric([], inventory.overdue_tokens)
        yield overdue
        oldest = GaugeMetricFamily(
            "igtoken_refresh_oldest_overdue_seconds",
            "How long the longest-waiting overdue token has been due (0 when none is)",
        )
        oldest.add_metric([], inventory.oldest_overdue_seconds)
        yield oldest
        deliveries = GaugeMetricFamily(
            "igtoken_webhook_deliveries", "Outbound webhook deliveries kept, by status", labels=["status"]
        )
        for status, count in sorted(inventory.webhooks_by_status.items()):
            deliveries.add_metric([status], count)
        yield deliveries
        pending = GaugeMetricFamily(
            "igtoken_webhook_deliveries_pending", "Outbound webhook deliveries not yet delivered or given up"
        )
        pending.add_metric([], inventory.webhooks_by_status.get("pending", 0))
        yield pending


class ServiceMetrics:
    """The service's metrics; one instance per app, so tests can build many apps."""

    def __init__(self, inventory: InventorySource | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        #: Called with ``(app id, account id, percent by kind)`` after each usage observed (the vault's
        #: record of each account's last usage, for the dashboard); ``account id`` is empty app-wide.
        self.usage_listeners: list[Callable[[str, str, dict[str, float]], None]] = []
        self.refreshes = Counter(
            "igtoken_refreshes", "Token refreshes by outcome", ["outcome"], registry=self.registry
        )
        self.token_reads = Counter(
            "igtoken_token_reads",
            "Tokens handed out (api: read over the API; graph_proxy: used for a proxied call)",
            ["via"],
            registry=self.registry,
        )
        self.meta_usage = Gauge(
            "igtoken_meta_usage_ratio",
            "Meta's latest reported rate-limit usage (0-1, 1 = throttled) by app, account and kind",
            ["app_id", "account_id", "kind"],
            registry=self.registry,
        )
        self.webhook_attempts = Counter(
            "igtoken_webhook_delivery_attempts",
            "Outbound webhook delivery attempts by outcome (delivered, retry, failed)",
            ["outcome"],
            registry=self.registry,
        )
        self.callbacks = Counter(
            "igtoken_callbacks",
            "Calls from Meta (webhooks, deauthorize, deletion) by endpoint and outcome",
            ["endpoint", "outcome"],
            registry=self.registry,
        )
        self.http_requests = Counter(
            "igtoken_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "igtoken_http_request_duration_seconds",
            "HTTP request latency by method and route template",
            ["method", "route"],
            registry=self.registry,
        )
        if inventory is not None:
            self.registry.register(_InventoryCollector(inventory))

    def record_refresh(self, outcome: str) -> None:
        """Count one refresh attempt: ``refreshed``, ``retry_later``, ``needs_reauth`` or ``failed``."""
        self.refreshes.labels(outcome=outcome).inc()

    def record_token_read(self, via: str = "api") -> None:
        """Count one token handed out (``api``) or used on a caller's behalf (``graph_proxy``)."""
        self.token_reads.labels(via=via).inc()

    def set_meta_usage(self, app_id: str, account_id: str, kind: str, percent: float) -> None:
        """Record Meta's latest usage figure of one kind (``call_count``, ``total_time``, …), in percent."""
        self.meta_usage.labels(app_id=app_id, account_id=account_id, kind=kind).set(percent / 100.0)

    def observe_usage(self, app_id: str, account_id: str, usage: Usage | None) -> None:
        """Record every figure of Meta's usage headers (``X-App-Usage``, ``X-Business-Use-Case-Usage``).

        App-wide figures are labelled ``app_<kind>``; per-business ones ``business_<kind>`` (the
        highest across the businesses the answer names).
        """
        if usage is None:
            return
        figures: dict[str, float] = {}
        for kind, value in (
            ("app_call_count", usage.app_call_count),
            ("app_total_time", usage.app_total_time),
            ("app_total_cputime", usage.app_total_cputime),
        ):
            if value is not None:
                figures[kind] = value
        for entry in usage.business:
            for kind, value in (
                ("business_call_count", entry.call_count),
                ("business_total_time", entry.total_time),
                ("business_total_cputime", entry.total_cputime),
            ):
                if value is not None:
                    figures[kind] = max(value, figures.get(kind, 0.0))
        for kind, percent in figures.items():
            self.set_meta_usage(app_id, account_id, kind, percent)
        for listener in self.usage_listeners:
            listener(app_id, account_id, figures)

    def record_webhook_attempt(self, outcome: str) -> None:
        """Count one outbound delivery attempt: ``delivered``, ``retry`` or ``failed``."""
        self.webhook_attempts.labels(outcome=outcome).inc()

    def record_callback(self, endpoint: str, outcome: str) -> None:
        """Count one call from Meta and what came of it."""
        self.callbacks.labels(endpoint=endpoint, outcome=outcome).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric (reads the inventory; blocking)."""
        return bytes(generate_latest(self.registry))


class HTTPMetricsMiddleware(ObservedRequestMiddleware):
    """Counts and times every HTTP request by route template, so ids never become labels."""

    def __init__(self, app: ASGIApp, *, metrics: ServiceMetrics) -> None:
        super().__init__(app)
        self.metrics = metrics

    def finished(self, scope: Scope, status: int, seconds: float) -> None:
        """Count the request and observe its latency."""
        route = route_template(scope)
        method = str(scope.get("method", ""))
        self.metrics.http_requests.labels(method=method, route=route, status=str(status)).inc()
        self.metrics.http_latency.labels(method=method, route=route).observe(seconds)


def metrics_app(
    metrics: ServiceMetrics, *, health: Callable[[], Awaitable[tuple[bool, dict[str, Any]]]] | None = None
) -> ASGIApp:
    """A bare ASGI app serving ``/metrics`` and ``/healthz``, for ``igtoken worker --metrics-port``.

    ``/healthz`` answers 200 with ``health()``'s body while it says healthy, else 503 with it
    (see :class:`igtoken.service.worker_health.WorkerHealth`); without ``health``, always 200.
    """
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def scrape(request: Request) -> Response:
        body = await run_in_threadpool(metrics.render)
        return Response(body, media_type=METRICS_CONTENT_TYPE)

    async def healthz(request: Request) -> Response:
        if health is None:
            return JSONResponse({"status": "ok"})
        healthy, body = await health()
        # A probe's answer is never cached: the next one must look again.
        return JSONResponse(body, status_code=200 if healthy else 503, headers={"cache-control": "no-store"})

    return Starlette(routes=[Route("/metrics", scrape), Route("/healthz", healthz)])


def vault_inventory(vault: Vault, clock: Callable[[], datetime] | None = None) -> InventorySource:
    """An :data:`~igtoken.service.interfaces.InventorySource` reading the vault at scrape time.

    A fixed number of aggregate queries (:func:`igtoken.vault.stats.ops_snapshot`), whatever the
    number of accounts; ``clock`` is the wall clock unless given (the sandbox's moved one).
    """
    from igtoken.vault.stats import ops_snapshot

    now = clock or (lambda: datetime.now(UTC))

    def read() -> Inventory:
        return ops_snapshot(vault.engine, now=now(), expiry_bounds=EXPIRY_BUCKETS)

    return read
