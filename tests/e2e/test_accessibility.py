"""Every page state a person meets, checked with axe-core in headless Chromium, and a keyboard-only walk.

The service and the emulator run as real processes (the ``running`` fixture of
``test_serve_processes``). axe-core is vendored in ``tests/fixtures/axe`` (see its README:
version, source and checksum), injected as an init script so the pages' own CSP, which
allows no script at all, stays in force. A serious or critical violation fails the test;
every violation of any impact is written to ``test-artifacts/axe-report.json``. Each state
is also photographed at 375 px wide, and again with forced colours (Windows high contrast).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from igtoken.emulator.demo import DEMO_FB_APP_ID, DEMO_IG_APP_ID

from .test_serve_processes import ARGS, ARTIFACTS, CHROMIUM, Running, running

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

__all__ = ["running"]  # the fixture, imported so that pytest finds it here

AXE = Path(__file__).resolve().parents[1] / "fixtures" / "axe" / "axe.min.js"
#: What fails the test; moderate and minor findings are reported, not fatal.
FATAL = {"serious", "critical"}
PHONE = {"width": 375, "height": 812}

pytestmark = [
    pytest.mark.chromium,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"headless Chromium not installed at {CHROMIUM}"),
]


class Auditor:
    """Runs axe on a page, keeps every finding, and takes the two screenshots of each state."""

    def __init__(self) -> None:
        self.report: dict[str, list[dict[str, Any]]] = {}
        self.failures: list[str] = []

    def __call__(self, page: Page, state: str) -> None:
        page.wait_for_load_state("load")
        result = page.evaluate(
            """async () => {
                const r = await axe.run(document, {resultTypes: ['violations']});
                return r.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary}))
                }));
            }"""
        )
        self.report[state] = result
        for violation in result:
            if violation["impact"] in FATAL:
                targets = ", ".join(str(n["target"]) for n in violation["nodes"][:5])
                self.failures.append(
                    f"{state}: {violation['impact']} {violation['id']} ({violation['help']}) at {targets}"
                )
        slug = re.sub(r"[^a-z0-9]+", "-", state.lower()).strip("-")
        page.screenshot(path=str(ARTIFACTS / f"a11y-{slug}-375.png"), full_page=True)
        page.emulate_media(forced_colors="active")
        page.screenshot(path=str(ARTIFACTS / f"a11y-{slug}-forced.png"), full_page=True)
        page.emulate_media(forced_colors="none")
        # Nothing may push the page sideways on a phone.
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            self.failures.append(f"{state}: {width} px wide at {PHONE['width']} px (sideways scrolling)")

    def write(self) -> None:
        (ARTIFACTS / "axe-report.json").write_text(json.dumps(self.report, indent=2) + "\n")


@pytest.fixture
def browser() -> Iterator[Callable[[], BrowserContext]]:
    """New Chromium contexts (each its own cookies) at phone width, axe-core loaded in every document."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)

        def new_context() -> BrowserContext:
            context = chromium.new_context(viewport=PHONE)  # type: ignore[arg-type]
            context.add_init_script(path=str(AXE))
            return context

        try:
            yield new_context
        finally:
            chromium.close()


def _sign_in(page: Page, running: Running) -> None:
    page.goto(f"{running.service}/signin")
    page.fill("#password", running.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{running.service}/dashboard")


def _open_from_nav(page: Page, running: Running, path: str) -> None:
    """Follow the dashboard's navigation to ``path``; its link is then marked as the current page."""
    page.click(f"nav a[href='{path}']")
    page.wait_for_url(f"{running.service}{path}")
    assert page.get_attribute(f"nav a[href='{path}']", "aria-current") == "page"


def _create_link(page: Page, running: Running, label: str, app: str = "demo") -> str:
    page.goto(f"{running.service}/dashboard/links")
    page.select_option("#app_id", label=app)
    page.fill("#label", label)
    page.click("form[action='/dashboard/links'] button[type=submit]")
    return page.input_value("#created-link")


def _consent(page: Page, link: str) -> None:
    """From the link's landing page to the emulator's consent page."""
    page.goto(link)
    page.click("text=Continue to Instagram")
    page.wait_for_selector("#allow")


def test_every_page_state_passes_axe(running, browser):
    """Sign-in to deletion status, the connect pages and the emulator's pages: no serious finding."""
    audit = Auditor()
    page = browser().new_page()  # the admin
    person = browser().new_page()  # the account's owner, who is not signed in

    page.goto(f"{running.service}/signin")
    audit(page, "sign-in")
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    assert page.get_attribute("#password", "aria-invalid") == "true"
    assert page.get_attribute("#password", "aria-describedby") == "password-error"
    audit(page, "sign-in error")
    _sign_in(page, running)
    assert page.get_attribute("nav a[href='/dashboard']", "aria-current") == "page"
    audit(page, "accounts (none yet)")

    page.goto(f"{running.service}/dashboard/links")
    audit(page, "links (none yet)")
    link = _create_link(page, running, "Alice - private note")
    assert page.evaluate("document.activeElement.id") == "created-link"
    audit(page, "link created")

    person.goto(link)
    assert "Alice" not in person.inner_text("body")  # the label is the admin's, not the owner's
    assert "demo asks you to connect" in person.inner_text("main")
    audit(person, "connect landing")
    person.click("text=Continue to Instagram")
    person.wait_for_selector("#allow")
    audit(person, "emulator consent")
    person.goto(person.url + "&emulator_account=nobody_here")
    person.wait_for_selector("#error")
    audit(person, "emulator consent with an error")
    person.click("#cancel")
    person.wait_for_selector("h1:text('Not connected')")
    assert (
        person.locator("a:text('Back to the connect page')").get_attribute("href")
        == link.split(running.service)[1]
    )
    audit(person, "denied (cancel)")

    _consent(person, link)
    person.select_option("#account", "demo_personal")
    person.click("#allow")
    person.wait_for_selector("h1:text('A professional account is needed')")
    audit(person, "personal account")

    _consent(person, link)
    person.select_option("#account", "demo_business")
    person.click("#allow")
    person.wait_for_selector("text=now connected")
    audit(person, "success")
    person.goto(link)
    assert person.inner_text("h1") == "This link no longer works"
    audit(person, "stale link")

    page.goto(f"{running.service}/dashboard")
    audit(page, "accounts")
    page.click("text=@demo_business")
    assert page.is_disabled("button:text('Refresh now')")  # under 24 hours old: it says when instead
    audit(page, "account")
    page.evaluate("document.querySelector('form[action$=\"/refresh\"]').submit()")
    page.wait_for_selector("h1:text('Too early to refresh')")
    audit(page, "refresh too early")
    page.click("text=Back to @demo_business")
    page.click("text=Disconnect…")
    page.wait_for_selector("h1:text('Disconnect @demo_business?')")
    audit(page, "disconnect confirmation")
    page.click("text=Cancel, keep it connected")
    page.click("text=Create re-authorization link")
    audit(page, "re-authorization link created")
    reauthorize = page.input_value("#created-link")
    _consent(person, reauthorize)
    person.select_option("#account", "demo_creator")
    person.click("#allow")
    person.wait_for_selector("h1:text('Another account logged in')")
    audit(person, "re-authorization by another account")

    facebook = _create_link(page, running, "via Facebook", app="demo-facebook (Facebook Login)")
    person.goto(facebook)
    audit(person, "connect landing (Facebook Login)")
    person.click("text=Continue to Facebook")
    person.wait_for_selector("#allow")
    audit(person, "emulator consent (Facebook)")
    httpx.patch(
        f"{running.emulator}/_emulator/apps/{DEMO_FB_APP_ID}", json={"mode": "development"}
    ).raise_for_status()
    person.click("#allow")
    person.wait_for_selector("h1:text('This app is not open to you yet')")
    audit(person, "development mode (Facebook Login)")
    httpx.patch(
        f"{running.emulator}/_emulator/apps/{DEMO_FB_APP_ID}", json={"mode": "live"}
    ).raise_for_status()
    person.goto(facebook)
    person.click("text=Continue to Facebook")
    person.uncheck("#perm-instagram_basic")  # the person unticks a permission the login needs
    person.click("#allow")
    person.wait_for_selector("h1:text('A permission is missing')")
    audit(person, "permission declined (Facebook Login)")
    person.click("text=Ask me again")
    person.wait_for_selector("#perm-instagram_basic")  # asked again: auth_type=rerequest
    assert "auth_type=rerequest" in person.url
    person.click("#allow")
    person.wait_for_selector("h1:text('Connected')")
    audit(person, "success (Facebook Login)")

    page.goto(f"{running.service}/dashboard/links")
    audit(page, "links")
    page.goto(f"{running.service}/dashboard/accounts/no-such-account")
    audit(page, "error page (404)")

    httpx.patch(
        f"{running.emulator}/_emulator/apps/{DEMO_IG_APP_ID}",
        json={"data_deletion_url": f"{running.service}/meta/data-deletion"},
    ).raise_for_status()
    fired = httpx.post(
        f"{running.emulator}/_emulator/accounts/demo_business/data-deletion", json={"app_id": DEMO_IG_APP_ID}
    )
    assert fired.status_code == 200, fired.text
    page.goto(f"{running.service}/dashboard/deletions")
    audit(page, "deletions")
    code = page.inner_text("table code")
    person.goto(f"{running.service}/meta/deletion-status/{code}")
    audit(person, "deletion status")

    person.goto(f"{running.emulator}/www.instagram.com/no-such-page")
    assert "isn't available" in person.inner_text("h1")
    audit(person, "emulator error page (Instagram 404)")
    person.goto(f"{running.emulator}/www.facebook.com/dialog/oauth?client_id=nope")
    assert person.inner_text("h1") == "Invalid App ID"
    audit(person, "emulator error page (Facebook dialog)")

    page.goto(f"{running.service}/api/docs")
    page.wait_for_selector(".opblock-summary")  # Swagger UI ran, from the service's own files
    audit(page, "api docs")
    page.click("#operations-tokens-get_token .opblock-summary-control")
    page.wait_for_selector(".opblock.is-open .parameters")
    audit(page, "api docs, an operation open")

    audit.write()
    assert not audit.failures, "\n".join(audit.failures)


def test_meta_apps_page_states_pass_axe(running, browser):
    """The dashboard's Meta apps page: the guide for each product, a refusal with its fix, a saved app."""
    audit = Auditor()
    page = browser().new_page()
    _sign_in(page, running)
    _open_from_nav(page, running, "/dashboard/apps")
    audit(page, "meta apps, Instagram Login guide")
    page.click("text=Facebook Login for Business")
    page.wait_for_url(f"{running.service}/dashboard/apps?flow=facebook_login")
    audit(page, "meta apps, Facebook Login guide")
    page.goto(f"{running.service}/dashboard/apps")
    page.fill("#name", "a11y")
    page.fill("#app_id", DEMO_IG_APP_ID)
    page.fill("#app_secret", "not-the-secret")
    page.click("form[action='/dashboard/apps'] button[type=submit]")
    page.wait_for_selector("#setup-errors")
    assert "Meta rejects the app secret" in page.inner_text("#setup-errors")
    audit(page, "meta apps, refused with the fix")
    page.fill("#app_secret", "demo-instagram-app-secret")
    page.click("form[action='/dashboard/apps'] button[type=submit]")
    page.wait_for_url(f"{running.service}/dashboard/apps")
    assert "Meta accepted app 'a11y'" in page.inner_text(".notices")
    audit(page, "meta apps, saved")
    audit.write()
    assert not audit.failures, "\n".join(audit.failures)


def test_api_keys_page_states_pass_axe(running, browser):
    """The dashboard's API keys page: the form, a refusal, a key created with chosen capabilities
    (shown once, with its capabilities in the list), then revoked."""
    audit = Auditor()
    page = browser().new_page()
    _sign_in(page, running)
    _open_from_nav(page, running, "/dashboard/api-keys")
    audit(page, "api keys")
    page.fill("#name", "a11y onboarding")
    page.check("input[name=access][value=chosen]")
    page.click("form[action='/dashboard/api-keys'] button[type=submit]")
    page.wait_for_selector("#key-error")
    assert "choose at least one capability" in page.inner_text("#key-error")
    audit(page, "api keys, refused")
    page.check("input[name=capability][value='links:create']")
    page.check("input[name=capability][value='accounts:read']")
    page.click("form[action='/dashboard/api-keys'] button[type=submit]")
    page.wait_for_selector("#created-key")
    key = page.input_value("#created-key")
    assert key.startswith("igt_")
    row = page.locator("tr", has_text="a11y onboarding")
    assert "accounts:read, links:create" in row.inner_text()
    audit(page, "api keys, created")
    answer = httpx.post(
        f"{running.service}/v1/connect-links",
        json={"app": "demo"},
        headers={"authorization": f"Bearer {key}", "accept": "application/json"},
    )
    assert answer.status_code == 201, answer.text
    row.get_by_role("button", name="Revoke").click()
    page.wait_for_url(f"{running.service}/dashboard/api-keys")
    assert "revoked" in page.locator("tr", has_text="a11y onboarding").inner_text()
    audit(page, "api keys, revoked")
    audit.write()
    assert not audit.failures, "\n".join(audit.failures)


def _luminance(rgb: str) -> float:
    channels = [int(c) / 255 for c in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_fields_and_buttons_stay_visible(running, browser):
    """What axe does not measure: field borders 3:1 (WCAG 1.4.11), and buttons outlined in forced colours."""
    page = browser().new_page()
    _sign_in(page, running)
    page.goto(f"{running.service}/dashboard/links")
    fields = page.evaluate(
        """() => [...document.querySelectorAll(
                'input:not([type=hidden]):not([type=radio]), select')].map(e => {
            let bg = 'rgba(0, 0, 0, 0)', n = e.parentElement;
            while (n && bg === 'rgba(0, 0, 0, 0)') {
                bg = getComputedStyle(n).backgroundColor; n = n.parentElement;
            }
            return {id: e.id, border: getComputedStyle(e).borderTopColor, background: bg};
        })"""
    )
    assert len(fields) >= 4
    for field in fields:
        ratio = _contrast(field["border"], field["background"])
        assert ratio >= 3, (
            f"#{field['id']}: border {field['border']} on {field['background']} is {ratio:.2f}:1"
        )
    page.emulate_media(forced_colors="active")
    borders = page.evaluate(
        """() => [...document.querySelectorAll('main button')].map(b => {
            const s = getComputedStyle(b);
            return {text: b.textContent.trim(), width: parseFloat(s.borderTopWidth), style: s.borderTopStyle};
        })"""
    )
    assert borders and all(b["width"] >= 1 and b["style"] != "none" for b in borders), borders
    radio = page.locator("input[name=use_limit]").first.bounding_box()
    assert radio is not None and radio["width"] < 40  # a radio, not a full-width bar


def _tab_to(page: Page, selector: str, *, limit: int = 40) -> None:
    """Press Tab until the focused element matches ``selector``; each stop must show a focus ring."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            outline = page.evaluate(
                "() => { const s = getComputedStyle(document.activeElement);"
                " return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }"
            )
            assert outline, f"{selector} has no visible focus indicator"
            return
    raise AssertionError(f"{limit} presses of Tab never reached {selector}")


def test_keyboard_only_sign_in_to_connected(running, browser):
    """Sign in, create a link, open it, allow on the consent page, see success: keys only, no clicks."""
    page = browser().new_page()
    page.set_viewport_size({"width": 1000, "height": 800})
    page.goto(f"{running.service}/signin")
    _tab_to(page, "a.skip")
    assert page.inner_text("a.skip") == "Skip to content"
    _tab_to(page, "#password")
    page.keyboard.type(running.password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{running.service}/dashboard")

    _tab_to(page, "nav a[href='/dashboard/links']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{running.service}/dashboard/links")
    _tab_to(page, "#label")
    page.keyboard.type("keyboard walk")
    _tab_to(page, "input[name=use_limit][value=single]")
    page.keyboard.press("ArrowDown")  # radios move with the arrow keys
    assert page.is_checked("input[name=use_limit][value=multiple]")
    page.keyboard.press("ArrowUp")
    _tab_to(page, "form[action='/dashboard/links'] button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#created-link")
    assert page.evaluate("document.activeElement.id") == "created-link"  # focus lands on the new link
    link = page.input_value("#created-link")
    page.screenshot(path=str(ARTIFACTS / "a11y-keyboard-link-created.png"))

    page.goto(link)
    _tab_to(page, "a.button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#allow")
    _tab_to(page, "#account")
    page.keyboard.type("demo_cr")  # a focused, closed select picks an option by typing its start
    assert page.input_value("#account") == "demo_creator"
    _tab_to(page, "#allow")
    page.screenshot(path=str(ARTIFACTS / "a11y-keyboard-consent.png"))
    page.keyboard.press("Enter")
    page.wait_for_selector("text=now connected")
    assert "@demo_creator" in page.inner_text("main")
    page.screenshot(path=str(ARTIFACTS / "a11y-keyboard-success.png"))
