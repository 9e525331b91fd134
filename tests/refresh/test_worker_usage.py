"""The worker's clients report Meta's usage headers (``on_usage``), for ``igtoken_meta_usage_ratio``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from igtoken.app.refresh_wiring import _usage_reporting_client
from igtoken.core.config import AppCredentials, ClientConfig
from igtoken.core.models import AccessToken, TokenKind
from igtoken.core.secret import Secret
from igtoken.core.usage import Usage

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_each_answer_with_usage_headers_is_reported_with_its_app():
    """A refresh answered with X-App-Usage reports (app id, usage); the client's last_usage too."""

    def meta(request: httpx.Request) -> httpx.Response:
        body = {"access_token": "IGAAnew-token-0123456789", "token_type": "bearer", "expires_in": 5184000}
        return httpx.Response(200, json=body, headers={"x-app-usage": '{"call_count":42,"total_time":7}'})

    seen: list[tuple[str, Usage]] = []
    config = ClientConfig(app=AppCredentials("123", Secret("app-secret-0123456789"), "https://a.test/cb"))
    async with httpx.AsyncClient(transport=httpx.MockTransport(meta)) as http:
        client = _usage_reporting_client(
            config, http, None, "app-1", lambda app, usage: seen.append((app, usage))
        )
        token = AccessToken(
            value=Secret("IGAAold-token-0123456789"),
            kind=TokenKind.IG_LONG,
            issued_at=NOW - timedelta(days=3),
            expires_at=NOW + timedelta(days=57),
        )
        await client.refresh(token, now=NOW)
    [(app, usage)] = seen
    assert app == "app-1" and usage.app_call_count == 42 and usage.app_total_time == 7
    assert client.last_usage == usage
