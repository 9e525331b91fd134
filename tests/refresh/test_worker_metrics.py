"""``igtoken worker --metrics-port``: a standalone worker serves /metrics and /healthz."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx

from igtoken.emulator import EmulatorClock
from igtoken.testing import run_emulator_on_loopback
from tests.support.fleet import add_demo_app, keyring, keys_setting, open_vault, seed_fleet


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_worker_serves_metrics_that_count_its_refreshes(tmp_path):
    """Five due tokens are refreshed; the worker's /metrics says so, /healthz answers ok."""
    ring = keyring()
    url = f"sqlite:///{tmp_path / 'v.db'}"
    vault = open_vault(url, ring)
    now = datetime.now(UTC)
    add_demo_app(vault, now)
    port = _free_port()
    with run_emulator_on_loopback(clock=EmulatorClock()) as emu:
        seed_fleet(emu.world, vault, 5, now=now, ages=(timedelta(days=3),), due_now=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("IGTOKEN_")}
        env.update(IGTOKEN_DATABASE_URL=url, IGTOKEN_KEYS=keys_setting(ring), IGTOKEN_META_BASE_URL=str(emu))
        command = [sys.executable, "-c", "from igtoken.cli import main; main()", "worker"]
        worker = subprocess.Popen(
            [*command, "--metrics-port", str(port), "--poll-interval", "1"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            text = ""
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
                except httpx.TransportError:
                    text = ""
                if 'igtoken_refreshes_total{outcome="refreshed"} 5.0' in text:
                    break
                time.sleep(0.2)
            assert 'igtoken_refreshes_total{outcome="refreshed"} 5.0' in text, text
            assert 'igtoken_accounts{status="active"} 5.0' in text
            assert "igtoken_refresh_overdue_tokens 0.0" in text

            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            assert health.status_code == 200, health.text
            body = health.json()
            assert body["status"] == "ok" and body["stale_after_seconds"] == 3 * 1 + 120
            last_tick = datetime.fromisoformat(body["last_tick_at"])
            assert abs((datetime.now(UTC) - last_tick).total_seconds()) < 30
        finally:
            worker.send_signal(signal.SIGTERM)
            _out, err = worker.communicate(timeout=30)
        assert worker.returncode == 0, err
    vault.close()
