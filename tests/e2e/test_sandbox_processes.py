"""One sandbox world for every igtoken process of a user, tried as a user would: real processes.

Each test gets its own home (XDG directories), so the sandbox's vault, key file and emulator world
are new; the service, the CLI and the emulator run as separate `igtoken` processes at once.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from igtoken.emulator.demo import DEMO_REDIRECT_URIS

IGTOKEN = str(Path(sys.executable).parent / "igtoken")
FAKETIME = shutil.which("faketime")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PYTHONUNBUFFERED": "1",
        "IGTOKEN_LOG_LEVEL": "WARNING",
    }


def igtoken(env: dict[str, str], *args: str, faketime: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [IGTOKEN, *args]
    if faketime is not None:
        assert FAKETIME is not None
        command = [FAKETIME, faketime, *command]
        env = {**env, "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


class Service:
    def __init__(self, proc: subprocess.Popen[str], banner: str) -> None:
        self.proc = proc
        self.url = re.search(r"igtoken service \(sandbox\) on (\S+)", banner).group(1)  # type: ignore[union-attr]
        self.api_key = re.search(r"API key:\s+(\S+)", banner).group(1)  # type: ignore[union-attr]
        self.emulator = re.search(r"Meta emulator:\s+(\S+)", banner).group(1)  # type: ignore[union-attr]

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", headers={"Authorization": f"Bearer {self.api_key}"}, timeout=30)


def _start_service(env: dict[str, str]) -> Service:
    proc = subprocess.Popen(
        [IGTOKEN, "serve", "--sandbox", "--port", "0", "--no-worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    banner, deadline = "", time.monotonic() + 60
    assert proc.stdout is not None
    while "Press Ctrl+C to stop" not in banner:
        line = proc.stdout.readline()
        if (not line and proc.poll() is not None) or time.monotonic() > deadline:
            raise AssertionError(f"the service did not start:\n{banner}")
        banner += line
    service = Service(proc, banner)
    for _ in range(100):
        try:
            if httpx.get(f"{service.url}/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    return service


def _stop(service: Service) -> None:
    service.proc.terminate()
    try:
        service.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        service.proc.kill()
        service.proc.wait()
    if service.proc.stdout:
        service.proc.stdout.close()


@pytest.fixture
def service(env: dict[str, str]) -> Iterator[Service]:
    running = _start_service(env)
    try:
        yield running
    finally:
        _stop(running)


def _account(service: Service, username: str) -> dict[str, str]:
    accounts = service.get("/v1/accounts").json()["accounts"]
    return next(a for a in accounts if a["username"] == username)


def test_a_cli_login_is_served_by_a_running_sandbox_service(env: dict[str, str], service: Service) -> None:
    login = igtoken(env, "login", "--sandbox", "--no-browser")
    assert login.returncode == 0, login.stderr
    account = _account(service, "demo_business")
    me = service.get(f"/v1/accounts/{account['id']}/graph/me?fields=username,account_type")
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "demo_business"
    cli_token = igtoken(env, "--sandbox", "token")
    assert cli_token.returncode == 0, cli_token.stderr
    api_token = service.get(f"/v1/accounts/{account['id']}/token").json()["access_token"]
    assert cli_token.stdout.strip() == api_token
    # The service's own emulator accepts what the CLI's emulator minted, and vice versa.
    direct = httpx.get(
        f"{service.emulator}/graph.instagram.com/me", params={"fields": "username", "access_token": api_token}
    )
    assert direct.status_code == 200
    second = igtoken(env, "login", "--sandbox", "--no-browser", "--account", "demo_creator")
    assert second.returncode == 0, second.stderr
    creator = _account(service, "demo_creator")
    assert service.get(f"/v1/accounts/{creator['id']}/graph/me?fields=username").status_code == 200


def test_restarts_leave_one_working_api_key_and_no_stale_callback(env: dict[str, str]) -> None:
    first = _start_service(env)
    _stop(first)
    second = _start_service(env)
    try:
        assert second.get("/v1/accounts").status_code == 200
        old = httpx.get(f"{second.url}/v1/accounts", headers={"Authorization": f"Bearer {first.api_key}"})
        assert old.status_code == 401
    finally:
        _stop(second)
    keys = json.loads(igtoken(env, "--sandbox", "--json", "apikeys", "list").stdout)
    active = [k for k in keys["apikeys"] if k["revoked_at"] is None]
    assert len(active) == 1
    # Neither service's callback stayed behind: doctor checks the demo apps against the emulator.
    doctor = igtoken(env, "--sandbox", "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    apps = json.loads(igtoken(env, "--sandbox", "--json", "apps", "list").stdout)["apps"]
    assert all(app["redirect_uris"] == list(DEMO_REDIRECT_URIS) for app in apps)


def test_the_emulator_on_a_busy_port_is_a_configuration_error(env: dict[str, str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = igtoken(env, "--sandbox", "emulator", "--port", str(port))
    assert result.returncode == 6
    assert result.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert "\nfix: " in result.stderr


@pytest.mark.skipif(FAKETIME is None, reason="Debian's faketime is not installed")
def test_sandbox_time_follows_the_system_clock(env: dict[str, str]) -> None:
    """A refresh at day 8 gets a new 60-day token from the sandbox; a token left alone lapses at day 61."""
    assert igtoken(env, "login", "--sandbox", "--no-browser").returncode == 0
    assert igtoken(env, "login", "--sandbox", "--no-browser", "--account", "demo_creator").returncode == 0
    before = json.loads(igtoken(env, "--sandbox", "--json", "token", "demo_business").stdout)
    refreshed = igtoken(env, "--sandbox", "refresh", "demo_business", faketime="+8 days")
    assert refreshed.returncode == 0, refreshed.stderr
    after = json.loads(
        igtoken(env, "--sandbox", "--json", "token", "demo_business", faketime="+8 days").stdout
    )
    assert after["access_token"] != before["access_token"]
    left = (
        time.mktime(time.strptime(after["expires_at"][:19], "%Y-%m-%dT%H:%M:%S"))
        - time.mktime(time.strptime(before["expires_at"][:19], "%Y-%m-%dT%H:%M:%S"))
    ) / 86400
    assert 7.5 < left < 8.5  # 60 days from day 8, not from day 0
    lapsed = igtoken(env, "--sandbox", "token", "demo_creator", faketime="+61 days")
    assert lapsed.returncode == 3, lapsed.stderr
    shown = json.loads(igtoken(env, "--sandbox", "--json", "accounts", "show", "demo_creator").stdout)
    assert shown["status"] == "needs_reauth"


def test_a_moved_sandbox_clock_moves_igtoken_too(env: dict[str, str]) -> None:
    """`POST /_emulator/clock/advance` on any sandbox emulator moves igtoken's own sandbox time."""
    assert igtoken(env, "login", "--sandbox", "--no-browser").returncode == 0
    before = json.loads(igtoken(env, "--sandbox", "--json", "token").stdout)
    assert before["refreshed"] is False
    emulator = subprocess.Popen(
        [IGTOKEN, "--sandbox", "emulator", "--port", "0"], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert emulator.stdout is not None
        banner = ""
        while "igtoken Meta emulator on" not in banner:
            banner += emulator.stdout.readline()
        url = re.search(r"igtoken Meta emulator on (http://\S+)", banner).group(1)  # type: ignore[union-attr]
        httpx.post(f"{url}/_emulator/clock/advance", json={"days": 8}).raise_for_status()
    finally:
        emulator.terminate()
        emulator.wait(timeout=15)
        if emulator.stdout:
            emulator.stdout.close()
    after = json.loads(igtoken(env, "--sandbox", "--json", "token").stdout)
    assert after["refreshed"] is True  # day 8 of a 60-day token: due, and Meta refreshes it
    assert after["access_token"] != before["access_token"]


def test_a_standalone_worker_also_does_the_housekeeping(env: dict[str, str], tmp_path: Path) -> None:
    """`igtoken worker` prunes the vault as the service does (a deployment may run workers alone)."""
    assert igtoken(env, "login", "--sandbox", "--no-browser").returncode == 0
    log = tmp_path / "worker.log"
    with log.open("w") as sink:
        worker = subprocess.Popen(
            [IGTOKEN, "--sandbox", "worker"],
            env={**env, "IGTOKEN_LOG_LEVEL": "INFO"},
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
        try:
            deadline = time.monotonic() + 30
            while "housekeeping: pruned" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert "housekeeping: pruned" in log.read_text(), log.read_text()
        finally:
            worker.terminate()
            worker.wait(timeout=15)
