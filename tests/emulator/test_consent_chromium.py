"""A person's view: headless Chromium clicks through the Instagram consent page."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from igtoken.emulator.demo import DEMO_IG_APP_ID, DEMO_REDIRECT_URIS

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

pytestmark = [
    pytest.mark.chromium,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"headless Chromium not installed at {CHROMIUM}"),
]


def test_person_allows_in_chromium(emulator_url, emulator_world):
    """Chromium shows app, permissions and account picker; choosing one and Allow reaches the callback."""
    from playwright.sync_api import sync_playwright

    redirect = DEMO_REDIRECT_URIS[2]
    query = urlencode(
        {
            "client_id": DEMO_IG_APP_ID,
            "redirect_uri": redirect,
            "response_type": "code",
            "scope": "instagram_business_basic,instagram_business_manage_comments",
            "state": "br0wser",
        }
    )
    landed: list[str] = []
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=ARGS
        )
        try:
            page = context.new_page()

            def callback(route):
                landed.append(route.request.url)
                route.fulfill(status=200, content_type="text/html", body="<h1>callback reached</h1>")

            page.route(f"{redirect}**", callback)
            page.goto(f"{emulator_url}/www.instagram.com/oauth/authorize?{query}")
            assert "igtoken demo" in page.inner_text("#title")
            assert "instagram_business_manage_comments" in page.inner_text("#permissions")
            page.select_option("#account", "demo_creator")
            page.screenshot(path=str(Path(profile) / "consent.png"))
            page.click("#allow")
            page.wait_for_selector("text=callback reached")
        finally:
            context.close()
    assert landed, "the browser never reached the callback"
    params = {k: v[0] for k, v in parse_qs(urlsplit(landed[0]).query).items()}
    assert params["state"] == "br0wser"
    code = emulator_world.codes[params["code"]]
    assert emulator_world.accounts[code.subject].username == "demo_creator"
