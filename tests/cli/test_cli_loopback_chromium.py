"""The loopback receiver driven by a real browser (headless Chromium), as a person's login would."""

from __future__ import annotations

from pathlib import Path

import pytest

from igtoken.cli._loopback import LoopbackReceiver

CHROMIUM = Path("/usr/bin/chromium")
STATE = "chromium-state-123"

pytestmark = [
    pytest.mark.chromium,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs headless Chromium at /usr/bin/chromium"),
]


def test_browser_redirect_with_meta_fragment_over_https():
    """Chromium following Meta's redirect (with '#_') to the https receiver ends the wait with the code."""
    from playwright.sync_api import sync_playwright

    with (
        LoopbackReceiver("https://localhost:0/callback", state=STATE, timeout=10) as receiver,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--ignore-certificate-errors"])
        try:
            page = browser.new_page()
            # The browser also asks for /favicon.ico on its own: that must not disturb the login.
            page.goto(f"{receiver.redirect_uri}?code=AQBrowserCode&state={STATE}#_")
            assert page.title() == "Logged in"
            url = receiver.wait(timeout=5)
        finally:
            browser.close()
    # The fragment never leaves the browser; the query arrives whole.
    assert url == f"{receiver.redirect_uri}?code=AQBrowserCode&state={STATE}"
