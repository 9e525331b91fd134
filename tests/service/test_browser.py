"""The dashboard in a real headless Chromium, served by uvicorn on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from igtoken.service import ServiceDeps, create_app, make_server

from .conftest import ADMIN_PASSWORD, NOW, InMemoryDashboard, make_config

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def served() -> Iterator[tuple[str, InMemoryDashboard]]:
    """The app under uvicorn in a thread, on 127.0.0.1 and an ephemeral port."""
    board = InMemoryDashboard.seeded()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    app = create_app(
        make_config(public_url=base),
        deps=ServiceDeps(dashboard_data=board, dashboard_actions=board, clock=lambda: NOW),
    )
    server = make_server(app, host="127.0.0.1", port=port)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield base, board
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.mark.chromium
def test_sign_in_and_use_the_dashboard_in_chromium(served, tmp_path):
    """A person signs in, sees the accounts and the chart, refreshes an account; screenshots are kept."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    base, board = served
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1100, "height": 800},
        )
        try:
            page = context.new_page()
            page.goto(f"{base}/dashboard")
            assert page.url == f"{base}/signin?next=/dashboard"
            page.fill("#password", "wrong password, surely")
            page.click("button[type=submit]")
            assert "That password is not right." in page.inner_text("main")
            page.fill("#password", ADMIN_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/dashboard")
            assert page.locator("table.accounts tbody tr").count() == 3
            assert page.locator("svg.chart rect.bar").count() == 3
            cookie = next(c for c in context.cookies() if c["name"] == "igtoken_session")
            assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
            page.screenshot(path=str(ARTIFACTS / "dashboard-accounts.png"), full_page=True)

            page.click("text=@bob.creates")
            page.wait_for_url(f"{base}/dashboard/accounts/acc1")
            page.click("text=Refresh now")
            page.wait_for_url(f"{base}/dashboard/accounts/acc1")
            assert "Token refreshed." in page.inner_text("main")
            assert board.calls == [("refresh_now", "acc1")]
            page.screenshot(path=str(ARTIFACTS / "dashboard-account.png"), full_page=True)

            page.set_viewport_size({"width": 390, "height": 844})
            page.goto(f"{base}/dashboard")
            # On a phone the table stacks: nothing may force sideways scrolling.
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(path=str(ARTIFACTS / "dashboard-accounts-phone.png"), full_page=True)
        finally:
            context.close()
