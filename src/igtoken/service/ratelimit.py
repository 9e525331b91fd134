"""A token bucket per client IP and route group.

The sign-in group is counted by the :class:`~igtoken.service.interfaces.SharedRateLimiter`
when one is wired in (the vault, for the wired service), so several instances allow the
configured number of password guesses together, not each. The other groups (API, webhooks,
public pages) are counted in this process's memory: a database write per API call would
cost more than the limit saves, and with several instances their effective limit is the
configured one times the instance count.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from fastapi import Request

from igtoken.core.exceptions import RateLimitedError
from igtoken.service.config import RateLimits

#: Route groups counted by the shared limiter when there is one.
SHARED_GROUPS: Final = frozenset({"signin"})


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class TokenBucketLimiter:
    """Allows ``per_minute`` requests on average and ``burst`` at once, per (group, client)."""

    def __init__(
        self,
        limits: RateLimits,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self._limits = limits
        self._monotonic = monotonic
        self._max_keys = max_keys
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def take(self, group: str, client: str) -> float | None:
        """Spend one token; ``None`` if allowed, else the seconds until one is available."""
        limit = self._limits.for_group(group)
        rate = limit.per_minute / 60.0
        now = self._monotonic()
        key = (group, client)
        bucket = self._buckets.get(key)
        if bucket is None:
            self._make_room(now)
            bucket = self._buckets[key] = _Bucket(tokens=float(limit.burst), updated=now)
        else:
            bucket.tokens = min(float(limit.burst), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / rate

    def _make_room(self, now: float) -> None:
        # A flood of distinct addresses must not grow memory without bound: drop the buckets
        # that have refilled (they carry no state worth keeping), then the oldest if still full.
        if len(self._buckets) < self._max_keys:
            return
        for key, bucket in list(self._buckets.items()):
            limit = self._limits.for_group(key[0])
            if bucket.tokens + (now - bucket.updated) * limit.per_minute / 60.0 >= limit.burst:
                del self._buckets[key]
        while len(self._buckets) >= self._max_keys:
            del self._buckets[next(iter(self._buckets))]


def client_address(request: Request) -> str:
    """The client's address: the TCP peer, or what a proxy in IGTOKEN_TRUSTED_PROXIES forwarded."""
    return request.client.host if request.client else "unknown"


def rate_limit(group: str) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency charging one request to ``group`` for the calling client."""

    async def dependency(request: Request) -> None:
        state = request.app.state.igtoken
        shared = state.deps.shared_limiter
        if group in SHARED_GROUPS and shared is not None:
            limit = state.config.rate_limits.for_group(group)
            wait = await shared.take(
                group, client_address(request), per_minute=limit.per_minute, burst=limit.burst
            )
        else:
            limiter: TokenBucketLimiter = state.limiter
            wait = limiter.take(group, client_address(request))
        if wait is not None:
            raise RateLimitedError(
                f"too many requests to {group} endpoints from this address",
                retry_after=wait,
                fix="wait for the time in Retry-After, then try again",
            )

    return dependency
