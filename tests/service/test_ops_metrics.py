"""Metrics that move on the wired service: token reads, Meta usage per app and account, the backlog."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from .test_wired_service import connect


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}", "accept": "application/json"}


async def _scrape(wired) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = await wired.service.get("/metrics")
    assert answer.status_code == 200
    return _samples(answer.text)


async def test_a_token_read_and_a_proxied_call_move_the_metrics(wired):
    """A token read counts under via=api, a proxied call under via=graph_proxy, and Meta's usage
    headers on the proxied answer become 0-1 ratios labelled with the app and the account."""
    account_id = await connect(wired)
    account = wired.vault.get_account(account_id)
    read = await wired.service.get(f"/v1/accounts/{account_id}/token", headers=_auth(wired.key))
    assert read.status_code == 200
    samples = await _scrape(wired)
    assert samples[("igtoken_token_reads_total", (("via", "api"),))] == 1
    me = await wired.service.get(
        f"/v1/accounts/{account_id}/graph/me", params={"fields": "username"}, headers=_auth(wired.key)
    )
    assert me.status_code == 200 and "x-business-use-case-usage" in me.headers
    samples = await _scrape(wired)
    assert samples[("igtoken_token_reads_total", (("via", "graph_proxy"),))] == 1
    usage = {
        dict(labels)["kind"]: value
        for (name, labels), value in samples.items()
        if name == "igtoken_meta_usage_ratio"
        and dict(labels)["account_id"] == account_id
        and dict(labels)["app_id"] == account.app_id
    }
    assert usage, samples
    assert all(0 <= value <= 1 for value in usage.values())


async def test_the_inventory_gauges_come_from_the_vault(wired):
    """Accounts by status, the refresh backlog and webhook deliveries are read at scrape time."""
    await connect(wired)
    samples = await _scrape(wired)
    assert samples[("igtoken_inventory_up", ())] == 1
    assert samples[("igtoken_accounts", (("status", "active"),))] == 1
    assert samples[("igtoken_token_expiry_seconds_gcount", ())] == 1
    assert samples[("igtoken_refresh_overdue_tokens", ())] == 0
    assert samples[("igtoken_refresh_oldest_overdue_seconds", ())] == 0
    assert samples[("igtoken_webhook_deliveries_pending", ())] == 0
