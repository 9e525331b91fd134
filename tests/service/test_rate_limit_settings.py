"""IGTOKEN_RATE_LIMIT_* reach the wired service (issue 22)."""

from __future__ import annotations

from igtoken.app.runtime import Runtime
from igtoken.config.settings import Settings, load_settings
from igtoken.service.assembly import rate_limits_from
from igtoken.service.config import RateLimit, RateLimits

from .conftest import client_for, sign_in
from .test_shared_sessions import PUBLIC, replica


def test_settings_become_the_service_limits():
    settings = load_settings({"IGTOKEN_RATE_LIMIT_PUBLIC": "120:40", "IGTOKEN_RATE_LIMIT_API": "1000"})
    limits = rate_limits_from(settings)
    assert limits.public == RateLimit(per_minute=120, burst=40)
    assert limits.api == RateLimit(per_minute=1000, burst=333)
    assert limits.signin == RateLimits().signin and limits.webhooks == RateLimits().webhooks


async def test_a_configured_sign_in_limit_is_enforced(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    runtime = Runtime(Settings(sandbox=True, rate_limit_signin=(1.0, 2)))
    try:
        async with client_for(replica(runtime, sandbox=True), base_url=PUBLIC) as client:
            statuses = [(await sign_in(client, "not the password at all")).status_code for _ in range(3)]
    finally:
        runtime.close()
    assert statuses == [401, 401, 429]
