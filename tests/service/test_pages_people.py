"""What the pages say to the people who meet them: the account's owner and the admin (issues 15, 23)."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from igtoken.service.pages import _relative

from .conftest import NOW, client_for, make_config, sign_in_wired
from .test_wired_service import connect, new_link, start


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


async def test_landing_page_names_the_app_never_the_admins_label(wired):
    """The label is the admin's private note; the owner reads which app asks."""
    code = new_link(wired, label="Alice - owes us money")
    landing = await wired.service.get(f"/connect/{code}")
    assert landing.status_code == 200
    assert "Alice" not in landing.text and "owes" not in landing.text
    assert "demo asks you to connect your Instagram professional account" in landing.text


async def test_cancel_and_personal_account_pages_lead_back_to_the_link(wired):
    """After Cancel, or with a personal account, the page links back to the link's own landing page."""
    code = new_link(wired, max_uses=None)
    denied = await wired.service.get(await start(wired, code, decision="deny"))
    assert denied.status_code == 403
    assert f'href="/connect/{code}"' in denied.text and "try again" in denied.text
    personal = await wired.service.get(await start(wired, code, account="demo_personal"))
    assert personal.status_code == 400
    assert f'href="/connect/{code}"' in personal.text and "I have switched" in personal.text


async def test_reauthorization_by_another_account_says_so_with_a_way_back(wired):
    """A re-authorization link finished as someone else: a page, not raw JSON, naming both accounts."""
    account_id = await connect(wired)
    code = new_link(wired, account_id=account_id)
    wrong = await wired.service.get(await start(wired, code, account="demo_creator"))
    assert wrong.status_code == 400 and "Another account logged in" in wrong.text
    assert "@demo_business" in wrong.text and "@demo_creator" in wrong.text
    assert f'href="/connect/{code}"' in wrong.text


async def test_no_way_back_is_offered_to_another_browser(wired):
    """The way back is remembered by the browser that opened the link; another one is told what to do."""
    code = new_link(wired)
    callback = await start(wired, code, decision="deny")
    transport = wired.service._transport
    async with httpx.AsyncClient(
        transport=transport, base_url=str(wired.service.base_url), headers={"accept": "text/html"}
    ) as other:
        denied = await other.get(callback)
    assert denied.status_code == 403
    assert "/connect/" not in denied.text and "open the link you were sent once more" in denied.text


async def test_refresh_now_on_a_young_token_explains_when(wired):
    """A token under 24 hours old: the button is disabled, and a refresh anyway gets words, not a 409 dump."""
    account_id = await connect(wired)
    await sign_in_wired(wired)
    page = await wired.service.get(f"/dashboard/accounts/{account_id}")
    assert re.search(r"<button type=\"submit\" disabled[^>]*>Refresh now</button>", page.text)
    assert "can be refreshed from" in page.text
    answer = await wired.service.post(
        f"/dashboard/accounts/{account_id}/refresh", data={"csrf_token": _csrf(page.text)}
    )
    assert answer.status_code == 409
    assert "Too early to refresh @demo_business" in answer.text
    assert "conflict" not in answer.text.lower()
    visible = re.sub(r"<[^>]+>", "", answer.text)  # a <time datetime="…"> attribute is for machines
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", visible)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC</strong> \(<time[^>]*>in 24 h</time>\)", answer.text)
    assert f'href="/dashboard/accounts/{account_id}"' in answer.text


async def test_a_fresh_60_day_token_is_on_the_expiry_chart(wired):
    """The chart never says no token expires while a just-issued 60-day token is listed."""
    await connect(wired)
    await sign_in_wired(wired)
    page = (await wired.service.get("/dashboard")).text
    assert "No token expires" not in page
    assert "1 token expires in the next 60 days" in page
    assert len(re.findall(r'<rect class="bar"', page)) == 1
    assert "in 60 days" in page


async def test_disconnect_asks_first(wired):
    """The account page's Disconnect opens a confirmation; only its form destroys the tokens."""
    account_id = await connect(wired)
    await sign_in_wired(wired)
    confirm = await wired.service.get(f"/dashboard/accounts/{account_id}/disconnect")
    assert confirm.status_code == 200 and "This cannot be undone." in confirm.text
    assert wired.vault.get_account(account_id).status == "active"
    done = await wired.service.post(
        f"/dashboard/accounts/{account_id}/disconnect", data={"csrf_token": _csrf(confirm.text)}
    )
    assert done.status_code == 303
    assert wired.vault.get_account(account_id).status == "deauthorized"


async def test_favicon_is_served(wired):
    """Browsers ask for /favicon.ico on their own; it is an icon, not a 404."""
    icon = await wired.service.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/vnd.microsoft.icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"


def test_relative_times_round_to_the_nearest_unit():
    """A 168-hour link a moment after it was made expires "in 7 days", not "in 6 days"."""
    moment = timedelta(milliseconds=5)
    assert _relative(NOW + timedelta(hours=168) - moment, NOW) == "in 7 days"
    assert _relative(NOW + timedelta(days=60) - timedelta(minutes=1), NOW) == "in 60 days"
    assert _relative(NOW + timedelta(hours=24) - moment, NOW) == "in 24 h"
    assert _relative(NOW + timedelta(minutes=59, seconds=50), NOW) == "in 1 h"
    assert _relative(NOW + timedelta(minutes=5, seconds=40), NOW) == "in 6 min"
    assert _relative(NOW - timedelta(days=3, hours=1), NOW) == "3 days ago"
    assert _relative(NOW + timedelta(seconds=30), NOW) == "now"


async def test_api_docs_work_offline_from_the_services_own_files(wired, build_app):
    """/api/docs loads Swagger UI from /static (no CDN); only that page may run this origin's scripts."""
    docs = await wired.service.get("/api/docs")
    assert docs.status_code == 200 and '<html lang="en">' in docs.text and "<h1" in docs.text
    policy = docs.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    sources = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert sources and all(s.startswith(("/", "#")) for s in sources), sources
    for path in ("/static/swagger/swagger-ui-bundle.js", "/static/swagger/swagger-ui.css"):
        assert (await wired.service.get(path)).status_code == 200
    assert "script-src 'none'" in (await wired.service.get("/signin")).headers["content-security-policy"]
    production = build_app(make_config(dev=False, public_url="https://tokens.example"))
    async with client_for(production, base_url="https://tokens.example") as client:
        assert (await client.get("/api/docs")).status_code == 404
