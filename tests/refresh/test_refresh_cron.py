"""``igtoken refresh`` as a cron job (issue 22): its webhooks reach the receiver before it exits, and
it exits as the README's table says: 3 when an account ends needing re-authorization, 4 when a
refresh failed for a passing reason, 0 when every token is fine."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from typing import ClassVar

import pytest
from click.testing import CliRunner

from igtoken.cli import main
from igtoken.core.secret import Secret
from igtoken.emulator import EmulatorClock
from igtoken.notify import verify
from igtoken.testing import run_emulator_on_loopback
from tests.support.fleet import add_demo_app, keyring, keys_setting, open_vault, seed_fleet
from tests.support.webhooks import Receiver

SIGNING_KEY = "cron-webhook-signing-key-0123456789"


class _Receiver(Receiver):
    received: ClassVar[list[tuple[bytes, dict[str, str]]]] = []


@contextmanager
def receiver() -> Iterator[tuple[str, list[tuple[bytes, dict[str, str]]]]]:
    """A webhook receiver on loopback: its URL and what it received."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", port), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/hooks", _Receiver.received
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def cron(tmp_path, monkeypatch):
    """A SQLite vault, a loopback emulator and a webhook receiver, wired through IGTOKEN_* variables."""
    ring = keyring()
    url = f"sqlite:///{tmp_path / 'v.db'}"
    vault = open_vault(url, ring)
    now = datetime.now(UTC)
    add_demo_app(vault, now)
    with run_emulator_on_loopback(clock=EmulatorClock()) as emu, receiver() as (hooks, received):
        for key, value in {
            "IGTOKEN_DATABASE_URL": url,
            "IGTOKEN_KEYS": keys_setting(ring),
            "IGTOKEN_META_BASE_URL": str(emu),
            "IGTOKEN_WEBHOOK_URLS": hooks,
            "IGTOKEN_WEBHOOK_SECRET": SIGNING_KEY,
        }.items():
            monkeypatch.setenv(key, value)
        yield vault, emu, received, now
    vault.close()


def events_of(received) -> list[str]:
    out = []
    for body, header in received:
        verify(body, header, Secret(SIGNING_KEY), datetime.now(UTC))
        out.append(json.loads(body)["type"])
    return sorted(out)


def test_refresh_all_delivers_its_webhooks_and_exits_3_for_a_dead_token(cron):
    vault, emu, received, now = cron
    healthy, dead = seed_fleet(emu.world, vault, 2, now=now, ages=(timedelta(days=3),), due_now=True)
    emu.world.revoke_token(dead.token_value)
    result = CliRunner().invoke(main, ["refresh", "--all"])
    assert result.exit_code == 3, result.output
    assert "needs_reauth=1" in result.output and "refreshed=1" in result.output
    assert f"{dead.account_id} needs re-authorization" in result.output
    assert "webhooks: 2 delivered" in result.output
    assert events_of(received) == ["account.needs_reauth", "token.refreshed"]
    assert vault.get_account(healthy.account_id).status == "active"


def test_refresh_one_account_delivers_and_exits_0(cron):
    vault, emu, received, now = cron
    [acct] = seed_fleet(emu.world, vault, 1, now=now, ages=(timedelta(days=3),), due_now=True)
    result = CliRunner().invoke(main, ["--json", "refresh", acct.username])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["exit_code"] == 0 and summary["counts"] == {"refreshed": 1}
    assert summary["webhooks"] == {"delivered": 1, "retry": 0, "failed": 0}
    assert events_of(received) == ["token.refreshed"]


def test_a_passing_failure_exits_4_and_a_down_receiver_is_left_to_the_workers(cron, monkeypatch):
    vault, emu, _received, now = cron
    [acct] = seed_fleet(emu.world, vault, 1, now=now, ages=(timedelta(days=3),), due_now=True)
    emu.world.faults.add("ig_refresh_token", "error", status=503)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks"
    monkeypatch.setenv("IGTOKEN_WEBHOOK_URLS", down)
    result = CliRunner().invoke(main, ["refresh", "--all"])
    assert result.exit_code == 4, result.output
    assert "retry=1" in result.output
    assert (
        "webhooks: 0 delivered, 1 to retry (a running worker, or the next refresh, sends them)"
        in result.output
    )
    assert vault.current_token(acct.account_id).failure_count == 1


def test_nothing_due_exits_0_and_sends_nothing(cron):
    vault, emu, received, now = cron
    seed_fleet(emu.world, vault, 1, now=now, ages=(timedelta(days=3),))
    result = CliRunner().invoke(main, ["refresh", "--all"])
    assert result.exit_code == 0, result.output
    assert "nothing was due" in result.output and "webhooks" not in result.output
    assert received == []
