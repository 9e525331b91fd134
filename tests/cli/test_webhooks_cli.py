"""``igtoken webhooks list``, ``redeliver`` and ``secret``."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from igtoken.app.runtime import Runtime
from igtoken.cli import main
from igtoken.config.settings import Settings
from igtoken.vault import WebhookStatus


@pytest.fixture
def sandbox_vault(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("IGTOKEN_SANDBOX", "1")
    runtime = Runtime(Settings(sandbox=True))
    vault = runtime.vault
    yield vault
    vault.close()


def _run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_list_shows_deliveries_and_redeliver_queues_a_failed_one_again(sandbox_vault):
    """A failed delivery is listed with its error; redeliver (by prefix) makes it pending and due."""
    now = datetime.now(UTC)
    payload = {"id": "evt-1", "type": "token.refreshed", "created": "x", "data": {"account_id": "a1"}}
    record = sandbox_vault.webhooks.enqueue("token.refreshed", "https://hooks.test/x", payload, now=now)
    [claimed] = sandbox_vault.webhooks.claim(now=now, owner="w")
    sandbox_vault.webhooks.record_failure(
        claimed.id, owner="w", now=now, error="HTTP 410", next_attempt_at=None
    )

    listed = _run("webhooks", "list", "--json")
    assert listed.exit_code == 0, listed.output
    [shown] = json.loads(listed.stdout)["deliveries"]
    assert (shown["id"], shown["status"], shown["last_error"]) == (record.id, "failed", "HTTP 410")
    assert shown["webhook_id"] == "evt-1" and shown["account_id"] == "a1"
    assert json.loads(_run("webhooks", "list", "--status", "pending", "--json").stdout) == {"deliveries": []}
    table = _run("webhooks", "list")
    assert record.id in table.stdout and "failed" in table.stdout

    again = _run("webhooks", "redeliver", record.id[:8])
    assert again.exit_code == 0, again.output
    assert "queued again" in again.stdout
    after = sandbox_vault.webhooks.get(record.id)
    assert (after.status, after.attempts, after.payload) == (WebhookStatus.PENDING, 0, payload)
    assert after.next_attempt_at <= datetime.now(UTC)


def test_redeliver_an_unknown_id_says_so(sandbox_vault):
    """An id that matches nothing is a not-found error naming the list command."""
    result = CliRunner().invoke(main, ["webhooks", "redeliver", "deadbeef"])
    assert result.exit_code != 0
    assert "no webhook delivery" in result.output and "igtoken webhooks list" in result.output


def test_secret_prints_a_whsec_secret():
    """32 random bytes, base64, behind the whsec_ prefix."""
    result = _run("webhooks", "secret")
    value = result.stdout.strip()
    assert value.startswith("whsec_") and len(base64.b64decode(value[6:])) == 32
