"""Prometheus metrics on a registry of the app's own (never the global one).

Counters are bumped where things happen (the refresh worker, token reads, webhook
intake); the inventory gauges (accounts by status, days to expiry) are read from
an :data:`~igtoken.service.interfaces.InventorySource` at scrape time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

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

from igtoken.service.interfaces import InventorySource
from igtoken.service.observe import ObservedRequestMiddleware, route_template

log = logging.getLogger("igtoken.service.metrics")

#: Upper bounds (days) of the days-to-expiry gauge histogram; Instagram tokens live 60 days.
EXPIRY_BUCKETS: Sequence[float] = (1, 3, 7, 14, 30, 45, 60)

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
        days = list(inventory.days_to_expiry)
        buckets = [(f"{bound:g}", sum(1 for d in days if d <= bound)) for bound in EXPIRY_BUCKETS]
        buckets.append(("+Inf", len(days)))
        yield GaugeHistogramMetricFamily(
            "igtoken_token_days_to_expiry",
            "Live tokens by days left before they expire",
            buckets=buckets,
            gsum_value=sum(days),
        )


class ServiceMetrics:
    """The service's metrics; one instance per app, so tests can build many apps."""

    def __init__(self, inventory: InventorySource | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.refreshes = Counter(
            "igtoken_refreshes", "Token refreshes by outcome", ["outcome"], registry=self.registry
        )
        self.token_reads = Counter(
            "igtoken_token_reads", "Tokens handed out over the API", registry=self.registry
        )
        self.meta_usage = Gauge(
            "igtoken_meta_usage_percent",
            "Meta's reported rate-limit usage, in percent, by kind",
            ["kind"],
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

    def record_token_read(self) -> None:
        """Count one token handed out."""
        self.token_reads.inc()

    def set_meta_usage(self, kind: str, percent: float) -> None:
        """Record Meta's latest usage figure of one kind (``call_count``, ``total_time``, …)."""
        self.meta_usage.labels(kind=kind).set(percent)

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
