"""Vault.prune: expired states, finished links, old replay records, sign-outs, throttles, idle rate
buckets and old delivered webhooks go; live rows, failed deliveries and the audit trail stay
(SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from igtoken.vault import Vault

from .conftest import T0

MIN = timedelta(minutes=1)
DAY = timedelta(days=1)


def test_prune_removes_only_what_is_no_longer_needed(vault: Vault, app_name: str) -> None:
    states = vault.states
    states.create(app_name, redirect_uri="https://x.test/cb", now=T0, expires_at=T0 + 15 * MIN)
    states.create(app_name, redirect_uri="https://x.test/cb", now=T0 + 40 * DAY, expires_at=T0 + 41 * DAY)
    links = vault.links
    old_link, _ = links.create(app_name, now=T0, expires_at=T0 + DAY)  # expired long ago
    links.create(app_name, now=T0, expires_at=T0 + 100 * DAY)  # still open
    revoked, _ = links.create(app_name, now=T0 + 39 * DAY, expires_at=T0 + 100 * DAY)
    links.revoke(revoked.id, now=T0 + 39 * DAY)  # revoked recently: kept for the dashboard
    vault.signed_requests.first_sight("live", now=T0, expires_at=T0 + 41 * DAY)
    vault.signed_requests.first_sight("old", now=T0, expires_at=T0 + DAY)
    vault.sessions.revoke("gone", now=T0, expires_at=T0 + DAY)
    vault.throttles.hold("acc", until=T0 + MIN, now=T0)
    vault.rate_buckets.take("signin", "203.0.113.1", per_minute=1, burst=1, now=T0)
    webhooks = vault.webhooks
    done = webhooks.enqueue("token.refreshed", "https://hooks.test/", {"a": 1}, now=T0)
    failed = webhooks.enqueue("token.refreshed", "https://hooks.test/", {"a": 2}, now=T0)
    webhooks.enqueue("token.refreshed", "https://hooks.test/", {"a": 3}, now=T0 + 40 * DAY)
    claimed = {d.id for d in webhooks.claim(now=T0, owner="w")}
    assert {done.id, failed.id} <= claimed
    webhooks.record_success(done.id, owner="w", now=T0)
    webhooks.record_failure(failed.id, owner="w", now=T0, error="boom", next_attempt_at=None)
    events_before = len(vault.events(limit=100_000))

    counts = vault.prune(now=T0 + 40 * DAY)

    assert counts == {
        "oauth_states": 1,
        "connect_links": 1,
        "seen_signed_requests": 1,
        "revoked_sessions": 1,
        "proxy_throttles": 1,
        "rate_buckets": 1,
        "webhook_deliveries": 1,
    }
    assert {link.id for link in links.list_all()} >= {revoked.id} and old_link.id not in {
        link.id for link in links.list_all()
    }
    assert len(vault.events(limit=100_000)) == events_before
    assert vault.prune(now=T0 + 40 * DAY) == dict.fromkeys(counts, 0)
