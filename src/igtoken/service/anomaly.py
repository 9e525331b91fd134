"""Usage anomaly alerts: token reads and proxy calls against a rolling baseline, revoked and refused keys.

The service counts, per API key and per account, the token reads and Graph proxy calls in fixed
windows (``IGTOKEN_ANOMALY_WINDOW``, 300 s). Each subject's baseline is an exponentially weighted
mean of its past windows (empty windows count, so a quiet key's baseline decays toward zero).
Three things raise a ``security.anomaly`` event (signed, like every webhook), a warning log line
and the ``igtoken_security_anomalies_total{anomaly=…}`` counter:

``read_burst``
    a key's or an account's uses in the current window reach both ``IGTOKEN_ANOMALY_MIN_READS``
    (50) and ``IGTOKEN_ANOMALY_FACTOR`` (10) times its baseline. Once per subject per window.
``revoked_key``
    any request presenting a revoked API key (once per key per window).
``refused_keys``
    ``IGTOKEN_ANOMALY_REFUSED_BURST`` (20) requests refused for an unknown or revoked key in one
    window, from anywhere (once per window): someone guessing or replaying keys.

Setting a threshold to 0 turns that alert off. The counts live in this process's memory: with
several instances each watches its own traffic (a burst spread evenly over N instances needs N
times the volume to trip any one of them). See docs/security.md for tuning.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from igtoken.app.runtime import Runtime
    from igtoken.notify import Notifier

__all__ = ["AnomalyThresholds", "UsageWatch", "usage_watch"]

log = logging.getLogger("igtoken.security")

#: How many past windows the baseline averages over (its EWMA span).
BASELINE_SPAN: Final = 24
READ_BURST: Final = "read_burst"
REVOKED_KEY: Final = "revoked_key"
REFUSED_KEYS: Final = "refused_keys"


@dataclass(frozen=True, slots=True)
class AnomalyThresholds:
    """When to raise ``security.anomaly`` (0 turns an alert off); see the module docstring."""

    factor: float = 10.0
    min_reads: float = 50.0
    refused_burst: float = 20.0
    window: float = 300.0


@dataclass
class _Series:
    """One subject's uses: the current window's count and the baseline of the ones before."""

    bucket: int
    count: int = 0
    baseline: float = 0.0
    alerted: bool = False

    def roll(self, bucket: int) -> None:
        if bucket <= self.bucket:
            return
        alpha = 2.0 / (BASELINE_SPAN + 1)
        self.baseline = alpha * self.count + (1 - alpha) * self.baseline
        # Windows with no use at all decay the baseline too (capped: a year idle is ~0 anyway).
        for _ in range(min(bucket - self.bucket - 1, 10 * BASELINE_SPAN)):
            self.baseline *= 1 - alpha
        self.bucket, self.count, self.alerted = bucket, 0, False


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class UsageWatch:
    """Watches API use and raises ``security.anomaly``. Thread-safe (key checks run on worker threads)."""

    notifier: Notifier
    thresholds: AnomalyThresholds = field(default_factory=AnomalyThresholds)
    clock: Callable[[], datetime] = _utc_now
    _series: dict[str, _Series] = field(default_factory=dict, init=False)
    _refused: _Series | None = field(default=None, init=False)
    _revoked_alerts: dict[str, int] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _counter: object | None = field(default=None, init=False)

    def register_metrics(self, registry: CollectorRegistry) -> None:
        """Count anomalies as ``igtoken_security_anomalies_total{anomaly}`` on ``registry``."""
        from prometheus_client import Counter

        self._counter = Counter(
            "igtoken_security_anomalies", "Security anomalies raised, by kind", ["anomaly"], registry=registry
        )

    def _bucket(self, now: datetime) -> int:
        return int(now.timestamp() // max(self.thresholds.window, 1.0))

    def used(self, *, key_id: str, account_id: str | None, kind: str) -> None:
        """One token read (``token_read``) or proxied call (``proxy_call``) by a key for an account."""
        self.alert(self.count(key_id=key_id, account_id=account_id, kind=kind))

    def count(self, *, key_id: str, account_id: str | None, kind: str) -> list[Callable[[], None]]:
        """:meth:`used` without its alerts, which it returns: memory only, never blocks.

        Give them to :meth:`alert` where blocking is allowed (an alert is queued in the vault).
        """
        now = self.clock()
        bucket = self._bucket(now)
        raised: list[tuple[str, str, _Series]] = []
        with self._lock:
            for subject in (f"key:{key_id}", f"account:{account_id}" if account_id else None):
                if subject is None:
                    continue
                series = self._series.setdefault(subject, _Series(bucket))
                series.roll(bucket)
                series.count += 1
                if not series.alerted and self._is_burst(series):
                    series.alerted = True
                    raised.append((subject, kind, series))
        alerts: list[Callable[[], None]] = []
        for subject, what, series in raised:
            which, _, ident = subject.partition(":")
            limit = max(self.thresholds.min_reads, self.thresholds.factor * series.baseline)
            alerts.append(
                partial(
                    self._raise,
                    READ_BURST,
                    now,
                    f"{series.count} {what.replace('_', ' ')}s by {which} {ident} in "
                    f"{self.thresholds.window:g} s, baseline {series.baseline:.1f} per window",
                    "if this use is expected, raise anomaly_factor or anomaly_min_reads "
                    "(the IGTOKEN_ANOMALY_* settings); if not, revoke the key (igtoken apikeys revoke ID) "
                    "and check who holds it",
                    api_key_id=key_id,
                    account_id=ident if which == "account" else None,
                    count=series.count,
                    baseline=round(series.baseline, 2),
                    threshold=round(limit, 2),
                )
            )
        return alerts

    @staticmethod
    def alert(alerts: list[Callable[[], None]]) -> None:
        """Raise the alerts :meth:`count` returned (each queued in the vault: blocking)."""
        for raise_alert in alerts:
            raise_alert()

    def _is_burst(self, series: _Series) -> bool:
        factor, floor = self.thresholds.factor, self.thresholds.min_reads
        if factor <= 0 or floor <= 0:
            return False
        return series.count >= floor and series.count >= factor * series.baseline

    def refused(self, *, revoked_key_id: str | None) -> None:
        """A request refused for its API key; ``revoked_key_id`` when the key was a revoked one."""
        now = self.clock()
        bucket = self._bucket(now)
        revoked_alert = burst = False
        with self._lock:
            if revoked_key_id is not None and self._revoked_alerts.get(revoked_key_id) != bucket:
                self._revoked_alerts[revoked_key_id] = bucket
                revoked_alert = True
            if self._refused is None:
                self._refused = _Series(bucket)
            refused = self._refused
            refused.roll(bucket)
            refused.count += 1
            limit = self.thresholds.refused_burst
            if limit > 0 and not refused.alerted and refused.count >= limit:
                refused.alerted = burst = True
            count = refused.count
        if revoked_alert:
            self._raise(
                REVOKED_KEY,
                now,
                f"revoked API key {revoked_key_id} was used (refused with 401)",
                "find and update whatever still sends this key; if it was not yours, it leaked: "
                "check the token_read events it made before it was revoked (igtoken events)",
                api_key_id=revoked_key_id,
                count=1,
            )
        if burst:
            self._raise(
                REFUSED_KEYS,
                now,
                f"{count} requests refused for an unknown or revoked API key in {self.thresholds.window:g} s",
                "someone may be guessing or replaying keys: check the access log for their addresses and "
                "block them; raise anomaly_refused_burst (IGTOKEN_ANOMALY_* settings) if a misconfigured "
                "client is the cause",
                count=count,
                threshold=self.thresholds.refused_burst,
            )

    def _raise(self, anomaly: str, now: datetime, reason: str, fix: str, **facts: object) -> None:
        from igtoken.notify import WebhookEventType

        log.warning("security anomaly (%s): %s", anomaly, reason, extra={"anomaly": anomaly})
        if self._counter is not None:
            self._counter.labels(anomaly=anomaly).inc()  # type: ignore[attr-defined]
        data: dict[str, object] = {
            "anomaly": anomaly,
            "reason": reason,
            "fix": fix,
            "window_seconds": self.thresholds.window,
        }
        data.update({k: v for k, v in facts.items() if v is not None})
        try:
            self.notifier.notify(WebhookEventType.SECURITY_ANOMALY, data, now)
        except Exception:  # an alert must never break the request that tripped it
            log.exception("could not queue the security.anomaly event")


def usage_watch(runtime: Runtime, clock: Callable[[], datetime] = _utc_now) -> UsageWatch:
    """The alerts with thresholds from settings; events are queued for the installation's webhooks."""
    from igtoken.app.refresh_wiring import webhook_endpoints
    from igtoken.notify import Notifier
    from igtoken.refresh.deliveries import VaultDeliveryLog

    settings = runtime.settings
    thresholds = AnomalyThresholds(
        factor=settings.anomaly_factor,
        min_reads=settings.anomaly_min_reads,
        refused_burst=settings.anomaly_refused_burst,
        window=settings.anomaly_window,
    )
    notifier = Notifier(webhook_endpoints(settings), VaultDeliveryLog(runtime.vault, owner="usage-watch"))
    return UsageWatch(notifier, thresholds, clock)
