"""Rate limits on the public endpoints: a token bucket per client address and route group."""

from __future__ import annotations

import pytest

from igtoken.core.exceptions import ConfigurationError
from igtoken.service import RateLimit, RateLimits
from igtoken.service.ratelimit import TokenBucketLimiter

from .conftest import client_for, make_config


async def test_sign_in_attempts_past_the_burst_get_429_with_retry_after(build_app, monotonic):
    """After ``burst`` sign-in posts the next is 429 with Retry-After; refilled tokens let one more in."""
    app = build_app(make_config(rate_limits=RateLimits(signin=RateLimit(per_minute=6, burst=3))))
    async with client_for(app) as client:
        await client.get("/signin")
        statuses = [(await client.post("/signin", data={"password": "x"})).status_code for _ in range(4)]
        assert statuses == [403, 403, 403, 429]
        limited = await client.post("/signin", data={"password": "x"})
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "10"
        assert limited.json()["error"]["type"] == "rate_limited"
        monotonic.now += 10
        assert (await client.post("/signin", data={"password": "x"})).status_code == 403


async def test_limits_are_per_client_address(build_app):
    """One address running out of tokens does not limit another."""
    app = build_app(make_config(rate_limits=RateLimits(webhooks=RateLimit(per_minute=1, burst=2))))
    params = {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"}
    async with (
        client_for(app, client=("10.0.0.1", 1234)) as first,
        client_for(app, client=("10.0.0.2", 1234)) as second,
    ):
        assert [(await first.get("/meta/webhooks", params=params)).status_code for _ in range(3)] == [
            403,
            403,
            429,
        ]
        assert (await second.get("/meta/webhooks", params=params)).status_code == 403


def test_groups_have_separate_buckets():
    """Spending the sign-in bucket leaves the webhook bucket of the same address full."""
    now = [0.0]
    limiter = TokenBucketLimiter(
        RateLimits(signin=RateLimit(60, 1), webhooks=RateLimit(60, 1)), monotonic=lambda: now[0]
    )
    assert limiter.take("signin", "1.2.3.4") is None
    assert limiter.take("signin", "1.2.3.4") == pytest.approx(1.0)
    assert limiter.take("webhooks", "1.2.3.4") is None
    now[0] = 0.5
    assert limiter.take("signin", "1.2.3.4") == pytest.approx(0.5)


def test_bucket_memory_is_bounded():
    """A flood of distinct addresses never keeps more than ``max_keys`` buckets."""
    now = [0.0]
    limiter = TokenBucketLimiter(RateLimits(), monotonic=lambda: now[0], max_keys=100)
    for n in range(1000):
        limiter.take("public", f"10.0.{n // 256}.{n % 256}")
    assert len(limiter._buckets) <= 100


def test_unknown_group_is_a_programming_error():
    """Charging a group that has no limit fails loudly instead of not limiting."""
    with pytest.raises(ConfigurationError, match="no rate limit group"):
        TokenBucketLimiter(RateLimits()).take("nope", "1.2.3.4")
