"""`igtoken emulator` and `igtoken serve` as real processes on loopback, driven by Chromium and httpx."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from igtoken.emulator.demo import DEMO_IG_APP_ID

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
IGTOKEN = [str(Path(sys.executable).parent / "igtoken")]


def _read_until(
    proc: subprocess.Popen[str], pattern: str, timeout: float = 30.0
) -> tuple[re.Match[str], str]:
    """Read the process's stdout until ``pattern`` matches; the match and everything read so far."""
    seen = ""
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        seen += line
        match = re.search(pattern, seen)
        if match:
            return match, seen
    raise AssertionError(f"{pattern!r} never appeared; output so far:\n{seen}")


@dataclass
class Running:
    service: str
    emulator: str
    password: str
    api_key: str


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    with tempfile.TemporaryDirectory() as home:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": home,
            "XDG_DATA_HOME": f"{home}/data",
            "XDG_CONFIG_HOME": f"{home}/config",
            "PYTHONUNBUFFERED": "1",
            "IGTOKEN_LOG_LEVEL": "WARNING",
        }
        emulator = subprocess.Popen(
            [*IGTOKEN, "emulator", "--port", "0"], env=env, stdout=subprocess.PIPE, text=True
        )
        service = None
        try:
            match, _ = _read_until(emulator, r"igtoken Meta emulator on (http://127\.0\.0\.1:\d+)")
            emulator_url = match.group(1)
            service = subprocess.Popen(
                [*IGTOKEN, "serve", "--sandbox", "--port", "0", "--no-worker"],
                env={**env, "IGTOKEN_META_BASE_URL": emulator_url},
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            _, banner = _read_until(service, r"Press Ctrl\+C to stop")
            service_url = re.search(r"igtoken service \(sandbox\) on (\S+)", banner).group(1)  # type: ignore[union-attr]
            password = re.search(r"admin password: (\S+)", banner).group(1)  # type: ignore[union-attr]
            api_key = re.search(r"API key:\s+(\S+)", banner).group(1)  # type: ignore[union-attr]
            for _ in range(100):
                try:
                    if httpx.get(f"{service_url}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            yield Running(service_url, emulator_url, password, api_key)
        finally:
            for proc in (service, emulator):
                if proc is not None:
                    proc.terminate()
                    try:
                        proc.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                    if proc.stdout:
                        proc.stdout.close()


@pytest.mark.chromium
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"headless Chromium not installed at {CHROMIUM}")
def test_person_connects_in_chromium_then_curl_gets_token(running):
    """Sign in, create a link, follow it, approve on the consent page, see success and the dashboard row."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=ARGS
        )
        try:
            page = context.new_page()
            page.goto(f"{running.service}/dashboard")
            page.fill("input[name=password]", running.password)
            page.screenshot(path=str(ARTIFACTS / "serve-1-signin.png"))
            page.click("button[type=submit]")
            page.goto(f"{running.service}/dashboard/links")
            page.fill("#label", "Demo shop")
            page.click("form[action='/dashboard/links'] button[type=submit]")
            link = page.input_value("#created-link")
            assert "/connect/" in link
            page.screenshot(path=str(ARTIFACTS / "serve-2-link-created.png"))
            person = context.new_page()
            person.goto(link)
            assert "Connect your Instagram account" in person.inner_text("h1")
            person.screenshot(path=str(ARTIFACTS / "serve-3-landing.png"))
            person.click("text=Continue to Instagram")
            person.wait_for_selector("#allow")
            person.select_option("#account", "demo_business")
            person.screenshot(path=str(ARTIFACTS / "serve-4-consent.png"))
            person.click("#allow")
            person.wait_for_selector("text=now connected")
            assert "@demo_business" in person.inner_text("body")
            person.screenshot(path=str(ARTIFACTS / "serve-5-success.png"))
            page.goto(f"{running.service}/dashboard")
            assert "demo_business" in page.inner_text("body")
            page.screenshot(path=str(ARTIFACTS / "serve-6-dashboard.png"))
        finally:
            context.close()
    headers = {"Authorization": f"Bearer {running.api_key}"}
    accounts = httpx.get(f"{running.service}/v1/accounts", headers=headers).json()["accounts"]
    account = next(a for a in accounts if a["username"] == "demo_business")
    token = httpx.get(f"{running.service}/v1/accounts/{account['id']}/token", headers=headers)
    assert token.status_code == 200 and token.json()["access_token"].startswith("IG")


def test_emulator_fires_deauthorize_at_the_service(running):
    """The emulator's signed deauthorize call reaches the service, which destroys the account's tokens."""
    headers = {"Authorization": f"Bearer {running.api_key}"}
    # Connect demo_creator without a browser: the emulator's consent shortcut answers at once.
    with httpx.Client() as http:
        page = http.get(f"{running.service}/signin")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        http.post(f"{running.service}/signin", data={"csrf_token": csrf, "password": running.password})
        links = http.get(f"{running.service}/dashboard/links")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', links.text).group(1)  # type: ignore[union-attr]
        app_id = re.search(r'<option value="([^"]+)">demo<', links.text).group(1)  # type: ignore[union-attr]
        created = http.post(
            f"{running.service}/dashboard/links",
            data={"csrf_token": csrf, "app_id": app_id, "label": "creator", "expires_in_hours": "1"},
        )
        link = re.search(r'value="(http[^"]+/connect/[^"]+)"', created.text).group(1)  # type: ignore[union-attr]
        hop = http.get(f"{link}/authorize")
        back = http.get(hop.headers["location"] + "&emulator_account=demo_creator&emulator_decision=approve")
        done = http.get(back.headers["location"])
        assert done.status_code == 200 and "@demo_creator" in done.text
    accounts = httpx.get(f"{running.service}/v1/accounts", headers=headers).json()["accounts"]
    account = next(a for a in accounts if a["username"] == "demo_creator")
    httpx.patch(
        f"{running.emulator}/_emulator/apps/{DEMO_IG_APP_ID}",
        json={"deauthorize_url": f"{running.service}/meta/deauthorize"},
    ).raise_for_status()
    fired = httpx.post(
        f"{running.emulator}/_emulator/accounts/demo_creator/deauthorize", json={"app_id": DEMO_IG_APP_ID}
    )
    assert fired.status_code == 200 and fired.json()["ok"], fired.text
    token = httpx.get(f"{running.service}/v1/accounts/{account['id']}/token", headers=headers)
    assert token.status_code == 409 and token.json()["error"]["type"] == "needs_reauthorization"
