"""Dashboard pages and actions against an in-memory implementation of the dashboard seams."""

from __future__ import annotations

import re

from igtoken._exceptions import NeedsReauthorizationError

from .conftest import client_for, csrf_from, sign_in

HTML = {"accept": "text/html"}


async def test_accounts_page_lists_accounts_and_draws_the_expiry_chart(admin):
    """Every account appears with status, type and links; the chart has one bar per expiry day."""
    response = await admin.get("/dashboard")
    assert response.status_code == 200
    html = response.text
    for name in ("@alice_shop", "@bob.creates", "@carol"):
        assert name in html
    assert 'class="badge badge-needs-reauth"' in html
    assert "MEDIA_CREATOR" in html
    assert 'href="/dashboard/accounts/acc1"' in html
    assert len(re.findall(r'<rect class="bar"', html)) == 3
    assert "3 tokens expire in the next 60 days" in html
    assert 'name="viewport"' in html


async def test_account_page_shows_details_history_and_buttons(admin):
    """The account page shows its facts, its events and its actions; Disconnect asks first."""
    html = (await admin.get("/dashboard/accounts/acc1")).text
    assert "code 190: session invalidated" in html
    assert "new token valid 60 days" in html and "connected" in html
    for action in ("refresh", "reauth-link"):
        assert f'action="/dashboard/accounts/acc1/{action}"' in html
    assert html.count('name="csrf_token"') == 3  # two actions and sign-out
    # Disconnecting destroys the tokens: the button leads to a page that asks, with a way back.
    assert 'href="/dashboard/accounts/acc1/disconnect"' in html
    confirm = (await admin.get("/dashboard/accounts/acc1/disconnect")).text
    assert "Disconnect @bob.creates?" in confirm
    assert 'action="/dashboard/accounts/acc1/disconnect"' in confirm
    assert 'href="/dashboard/accounts/acc1">Cancel' in confirm


async def test_unknown_and_malformed_account_ids(admin):
    """An unknown id is a 404 page; an id with odd characters is a 422 naming the field."""
    missing = await admin.get("/dashboard/accounts/nope", headers=HTML)
    assert missing.status_code == 404 and "no account with id" in missing.text
    odd = await admin.get("/dashboard/accounts/a%3Cb%3E", headers=HTML)
    assert odd.status_code == 422 and "path.account_id" in odd.text


async def test_refresh_now_redirects_and_flashes_the_result_once(admin, board):
    """The button calls refresh_now, redirects back (303) and the message shows once."""
    token = csrf_from((await admin.get("/dashboard/accounts/acc0")).text)
    response = await admin.post("/dashboard/accounts/acc0/refresh", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/accounts/acc0"
    assert board.calls == [("refresh_now", "acc0")]
    assert "Token refreshed." in (await admin.get("/dashboard/accounts/acc0")).text
    assert "Token refreshed." not in (await admin.get("/dashboard/accounts/acc0")).text


async def test_refresh_failure_shows_the_error_page_with_a_reauthorize_link(build_app, board):
    """A refresh that needs re-authorization shows a 409 page linking to the re-authorization URL."""

    async def reauth(account_id: str) -> str:
        return f"https://tokens.example/connect/re-{account_id}"

    board.refresh_error = NeedsReauthorizationError("the token was invalidated", status_code=400, code=190)
    async with client_for(build_app(reauthorize_url=reauth)) as client:
        await sign_in(client)
        token = csrf_from((await client.get("/dashboard/accounts/acc1")).text)
        response = await client.post(
            "/dashboard/accounts/acc1/refresh", data={"csrf_token": token}, headers=HTML
        )
    assert response.status_code == 409
    assert "the token was invalidated" in response.text
    assert 'href="https://tokens.example/connect/re-acc1"' in response.text


async def test_reauthorization_link_is_shown_once(admin, board):
    """Creating a re-authorization link renders the account page with the URL to copy."""
    token = csrf_from((await admin.get("/dashboard/accounts/acc1")).text)
    response = await admin.post("/dashboard/accounts/acc1/reauth-link", data={"csrf_token": token})
    assert response.status_code == 200
    assert 'value="https://tokens.example/connect/reauth-xyz"' in response.text
    assert board.calls == [("create_reauth_link", "acc1")]
    assert "reauth-xyz" not in (await admin.get("/dashboard/accounts/acc1")).text


async def test_disconnect_changes_the_status(admin, board):
    """Disconnect calls the action and the account then shows as deauthorized."""
    token = csrf_from((await admin.get("/dashboard/accounts/acc2")).text)
    response = await admin.post("/dashboard/accounts/acc2/disconnect", data={"csrf_token": token})
    assert response.status_code == 303
    page = (await admin.get("/dashboard/accounts/acc2")).text
    assert "@carol is disconnected." in page and "badge-deauthorized" in page


async def test_connect_links_can_be_created_and_revoked(admin, board):
    """A new link's URL is shown once (201); revoking it marks it revoked."""
    page = await admin.get("/dashboard/links")
    assert "No connect links yet." in page.text and '<option value="app1">Shop app</option>' in page.text
    token = csrf_from(page.text)
    created = await admin.post(
        "/dashboard/links",
        data={"csrf_token": token, "app_id": "app1", "label": " Dana ", "expires_in_hours": "48"},
    )
    assert created.status_code == 201
    assert 'value="https://tokens.example/connect/tok0"' in created.text
    assert board.calls == [("create_link", "app1:Dana:48")]
    listed = (await admin.get("/dashboard/links")).text
    assert "tokens.example/connect/tok0" not in listed and "Dana" in listed
    revoked = await admin.post("/dashboard/links/link0/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    assert "badge-revoked" in (await admin.get("/dashboard/links")).text


async def test_link_form_input_is_validated(admin, board):
    """Out-of-range lifetimes, missing apps and overlong labels are 422 with the field named."""
    token = csrf_from((await admin.get("/dashboard/links")).text)
    for data, field in [
        ({"app_id": "app1", "expires_in_hours": "0"}, "body.expires_in_hours"),
        ({"app_id": "app1", "expires_in_hours": "many"}, "body.expires_in_hours"),
        ({"expires_in_hours": "5"}, "body.app_id"),
        ({"app_id": "app1", "label": "x" * 101}, "body.label"),
    ]:
        response = await admin.post("/dashboard/links", data={"csrf_token": token, **data})
        assert response.status_code == 422
        assert field in {item["field"] for item in response.json()["error"]["fields"]}
    assert board.calls == []


async def test_deletion_requests_page(admin):
    """Deletion requests are listed with their confirmation code and status."""
    html = (await admin.get("/dashboard/deletions")).text
    assert "<code>DEL123</code>" in html and "badge-pending" in html


async def test_dashboard_without_data_is_not_mounted(build_app):
    """An app with no dashboard data source has no dashboard routes at all."""
    async with client_for(build_app(dashboard_data=None, dashboard_actions=None)) as client:
        await sign_in(client)
        assert (await client.get("/dashboard")).status_code == 404


async def test_read_only_dashboard_has_no_action_buttons_or_routes(build_app, board):
    """With data but no actions wired, pages render without buttons and the action routes do not exist."""
    async with client_for(build_app(dashboard_actions=None)) as client:
        await sign_in(client)
        page = await client.get("/dashboard/accounts/acc0")
        assert "Refresh now" not in page.text
        response = await client.post(
            "/dashboard/accounts/acc0/refresh", data={"csrf_token": csrf_from(page.text)}
        )
        assert response.status_code in (404, 405)
    assert board.calls == []


async def test_pages_send_security_headers(admin):
    """Pages forbid scripts, framing and referrers, and are never sniffed."""
    headers = (await admin.get("/dashboard")).headers
    assert "script-src 'none'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"


async def test_static_stylesheet_is_served(client):
    """The one stylesheet is served from /static."""
    response = await client.get("/static/igtoken.css")
    assert response.status_code == 200 and "text/css" in response.headers["content-type"]
