"""The public onboarding pages, rendered from view models."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request

from igtoken.service import onboarding
from igtoken.service.views import ConnectLanding, ConnectOutcome

from .conftest import NOW, client_for

EVIL = '<script>alert("x")</script>'


def _app_with_pages(build_app):
    app = build_app()
    router = APIRouter()
    landing = ConnectLanding(
        app_name=f"Shop {EVIL}",
        permissions=("instagram_business_basic", "instagram_business_manage_comments", "made_up_scope"),
        continue_url="https://www.instagram.com/oauth/authorize?client_id=1&state=abc",
        requested_by="Dana at Shop",
        expires_at=NOW + timedelta(days=7),
    )
    outcome = ConnectOutcome(app_name="Shop", username="alice_shop", retry_url="/connect/abc", reason=None)

    @router.get("/t/landing")
    async def landing_page(request: Request):
        return onboarding.connect_landing_page(request, landing)

    @router.get("/t/success")
    async def success(request: Request):
        return onboarding.connect_success_page(request, outcome)

    @router.get("/t/denied")
    async def denied(request: Request):
        return onboarding.connect_denied_page(request, outcome)

    @router.get("/t/personal")
    async def personal(request: Request):
        return onboarding.personal_account_page(request, outcome)

    @router.get("/t/stale")
    async def stale(request: Request):
        return onboarding.stale_link_page(request, ConnectOutcome(app_name="Shop"))

    app.include_router(router)
    return app


async def test_landing_page_says_what_will_be_asked(build_app):
    """The landing page names the app, lists permissions in words, and has a Continue button."""
    async with client_for(_app_with_pages(build_app)) as client:
        response = await client.get("/t/landing")
    html = response.text
    assert response.status_code == 200
    assert "Connect your Instagram account" in html
    assert "Read and reply to comments" in html and "made_up_scope" in html
    assert 'href="https://www.instagram.com/oauth/authorize?client_id=1&amp;state=abc"' in html
    assert "Continue to Instagram" in html
    assert "Dana at Shop" in html
    assert EVIL not in html and "&lt;script&gt;" in html
    assert 'name="robots" content="noindex' in html


async def test_outcome_pages_have_fitting_status_codes_and_text(build_app):
    """Success is 200, denied 403, personal account 400 with how to switch, stale link 410."""
    async with client_for(_app_with_pages(build_app)) as client:
        success = await client.get("/t/success")
        denied = await client.get("/t/denied")
        personal = await client.get("/t/personal")
        stale = await client.get("/t/stale")
    assert success.status_code == 200 and "@alice_shop is now connected" in success.text
    assert (
        denied.status_code == 403
        and "Nothing was stored" in denied.text
        and 'href="/connect/abc"' in denied.text
    )
    assert personal.status_code == 400 and "Switch to professional account" in personal.text
    assert stale.status_code == 410 and "expired, was withdrawn, or has already been used" in stale.text
    for page in (success, denied, personal, stale):
        assert "set-cookie" not in page.headers
