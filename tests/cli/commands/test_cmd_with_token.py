"""`igtoken login --with-token`: adopt a token minted elsewhere (token on stdin), against the sandbox."""

from __future__ import annotations

import json

import pytest
from click.testing import Result

from igtoken.app.runtime import SandboxEmulator
from igtoken.emulator import World, demo
from igtoken.facebook.scopes import DEFAULT_FACEBOOK_SCOPES
from tests.support.cli import invoke

DAY = 86400.0


def mint(kind: str, subject: str, *, age_days: float = 0.0, app_id: str = demo.DEMO_IG_APP_ID, **kw) -> str:
    """A token the sandbox world issued ``age_days`` ago, as if another tool had got it."""
    sandbox = SandboxEmulator()
    world: World = sandbox.app().state.world
    token = world.mint_token(app_id, kind, subject, issued_at=world.clock.timestamp() - age_days * DAY, **kw)
    world.save(sandbox.state_file)
    return token.value


def adopt(token: str, *args: str) -> Result:
    return invoke(["login", "--with-token", "--sandbox", "--json", *args], input=f"{token}\n")


def test_a_30_day_old_instagram_token_is_adopted_refreshed_and_scheduled() -> None:
    """Meta refreshes it on the way in: 60 days from now, stored, its next refresh scheduled."""
    old = mint("ig_long", demo.DEMO_BUSINESS, age_days=30, scopes=["instagram_business_basic"])
    result = adopt(old, "--show-token")
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["account"]["username"] == demo.DEMO_BUSINESS and body["account"]["app"] == "demo"
    printed = invoke(["--sandbox", "token"]).stdout.strip()
    assert printed == body["token"]
    shown = json.loads(invoke(["--sandbox", "accounts", "show", "--json"]).stdout)
    assert shown["token"]["kind"] == "ig_long" and shown["token"]["days_left"] > 59
    assert shown["token"]["next_refresh_at"] is not None
    events = json.loads(invoke(["--sandbox", "events", "--json"]).stdout)["events"]
    assert "connected" in [e["type"] for e in events]
    assert old not in json.dumps(events)


def test_a_young_instagram_token_is_adopted_as_it_is() -> None:
    """Under 24 hours Meta does not refresh: the same token is stored with the time it has left."""
    young = mint("ig_long", demo.DEMO_CREATOR, age_days=0.2, scopes=["instagram_business_basic"])
    result = adopt(young)
    assert result.exit_code == 0, result.stderr
    assert invoke(["--sandbox", "token"]).stdout.strip() == young


def test_short_lived_and_personal_tokens_are_refused_with_the_fix() -> None:
    short = mint("ig_short", demo.DEMO_BUSINESS, scopes=["instagram_business_basic"])
    refused = invoke(["login", "--with-token", "--sandbox"], input=short)
    assert refused.exit_code == 3
    assert "short-lived" in refused.stderr and "ig_exchange_token" in refused.stderr
    assert short not in refused.stderr
    personal = mint("ig_long", demo.DEMO_PERSONAL, age_days=3, scopes=["instagram_business_basic"])
    refused = invoke(["login", "--with-token", "--sandbox"], input=personal)
    assert (
        refused.exit_code == 3 and "personal" in refused.stderr and "Switch to professional" in refused.stderr
    )
    assert invoke(["--sandbox", "token"]).exit_code == 3  # nothing stored
    empty = invoke(["login", "--with-token", "--sandbox"], input="\n")
    assert empty.exit_code == 6 and "stdin" in empty.stderr


def test_a_long_lived_facebook_user_token_connects_its_linked_page() -> None:
    """debug_token first; then the Pages, as after a browser login; the hint works as printed."""
    user = mint("fb_user_long", demo.DEMO_FB_USER, app_id=demo.DEMO_FB_APP_ID, scopes=DEFAULT_FACEBOOK_SCOPES)
    result = invoke(["login", "--with-token", "--sandbox", "--app", "demo-facebook"], input=user)
    assert result.exit_code == 0, result.stderr
    assert "Connected @demo_business through the Page 'Demo Business Page'" in result.stdout
    page_token = invoke(["--sandbox", "token", "demo_business"]).stdout.strip()
    assert page_token.startswith("EAA") and page_token != user
    (hint,) = [line for line in result.stdout.splitlines() if line.startswith("Next: ")]
    assert hint == "Next: igtoken --sandbox token"
    accounts = json.loads(invoke(["--sandbox", "accounts", "list", "--json"]).stdout)["accounts"]
    assert [(a["username"], a["app"], a["token"]["kind"]) for a in accounts] == [
        ("demo_business", "demo-facebook", "fb_page")
    ]


@pytest.mark.parametrize(
    ("kind", "subject", "words"),
    [
        ("fb_user_short", demo.DEMO_FB_USER, "short-lived"),
        ("fb_page", demo.DEMO_PAGE_LINKED_ID, "user token"),
    ],
)
def test_short_facebook_and_page_tokens_are_refused(kind: str, subject: str, words: str) -> None:
    token = mint(kind, subject, app_id=demo.DEMO_FB_APP_ID)
    refused = invoke(["login", "--with-token", "--sandbox", "--app", "demo-facebook"], input=token)
    assert refused.exit_code in (3, 6), refused.stderr
    assert words in refused.stderr and "fix: " in refused.stderr


def test_a_facebook_token_given_to_an_instagram_app_is_explained() -> None:
    user = mint("fb_user_long", demo.DEMO_FB_USER, app_id=demo.DEMO_FB_APP_ID)
    refused = invoke(["login", "--with-token", "--sandbox"], input=user)
    assert refused.exit_code == 6 and "--app" in refused.stderr


def test_a_young_token_meta_refuses_to_refresh_is_still_adopted() -> None:
    """With Meta answering "under 24 hours" with an error, the token is kept and counted from now."""
    sandbox = SandboxEmulator()
    world: World = sandbox.app().state.world
    world.switches.set("refresh_under_24h", "error")
    world.save(sandbox.state_file)
    young = mint("ig_long", demo.DEMO_CREATOR, age_days=0.2, scopes=["instagram_business_basic"])
    result = adopt(young)
    assert result.exit_code == 0, result.stderr
    assert invoke(["--sandbox", "token"]).stdout.strip() == young
    shown = json.loads(invoke(["--sandbox", "accounts", "show", "--json"]).stdout)
    assert 58.9 < shown["token"]["days_left"] <= 59.0
