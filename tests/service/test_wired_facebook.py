"""The wired service with a Facebook Login app, in-process: onboarding through the Facebook dialog,
page tokens over the API, the on-demand check after a password change, Meta's callbacks, the dashboard."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from igtoken.emulator import demo
from igtoken.runtime import SANDBOX_FB_APP

from .conftest import REDIRECT, Wired, bearer, sign


def new_fb_link(w: Wired, **kwargs) -> str:
    _link, code = w.vault.links.create(
        SANDBOX_FB_APP, now=w.now(), expires_at=w.now().replace(year=2099), **kwargs
    )
    return code.reveal()


async def start_fb(
    w: Wired,
    code: str,
    *,
    user: str = demo.DEMO_FB_USER,
    scopes: str | None = None,
    decline: str | None = None,
    authorize: str | None = None,
) -> str:
    """Open the link, continue to Facebook, approve on the emulator: the callback path + query.

    ``decline`` unticks permissions in the dialog; ``authorize`` is the hop to follow instead of the
    link's own ``/connect/{code}/authorize`` (e.g. an "Ask me again" link).
    """
    landing = await w.service.get(f"/connect/{code}")
    assert landing.status_code == 200 and "Continue to Facebook" in landing.text
    hop = await w.service.get(authorize or f"/connect/{code}/authorize")
    assert hop.status_code == 303
    dialog = hop.headers["location"]
    assert dialog.startswith("http://emulator.test/www.facebook.com/")
    assert f"client_id={demo.DEMO_FB_APP_ID}" in dialog
    shortcut = f"&emulator_account={user}&emulator_decision=approve"
    if decline:
        shortcut += f"&emulator_decline={decline}"
    back = await w.meta.get(f"{dialog}{shortcut}")
    assert back.status_code in (302, 303), back.text
    target = urlsplit(back.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT
    return f"{target.path}?{target.query}"


async def connect_fb(w: Wired) -> str:
    done = await w.service.get(await start_fb(w, new_fb_link(w, label="fb tests")))
    assert done.status_code == 200, done.text
    (account,) = w.vault.list_accounts()
    return account.id


async def test_onboarding_connects_the_linked_page_and_serves_its_page_token(wired):
    """Link → Facebook dialog → callback stores the linked Page's account; the success page names it and
    the unlinked Page; the token API serves the page token (fb_page, no expiry) that Meta accepts."""
    done = await wired.service.get(await start_fb(wired, new_fb_link(wired)))
    assert done.status_code == 200
    assert "@demo_business (Demo Business Page)" in done.text
    assert "Demo Agency Page" in done.text
    (account,) = wired.vault.list_accounts()
    assert account.page_id == demo.DEMO_PAGE_LINKED_ID and account.fb_user_id == demo.DEMO_FB_USER_ID
    assert account.data_access_expires_at is not None
    answer = await wired.service.get(f"/v1/accounts/{account.id}/token", headers=bearer(wired))
    assert answer.status_code == 200
    body = answer.json()
    assert body["kind"] == "fb_page" and body["expires_at"] is None
    assert body["access_token"].startswith("EAA")
    assert wired.world.tokens[body["access_token"]].subject  # the emulator issued it
    page = await wired.service.get(
        f"/v1/accounts/{account.id}/graph/{demo.DEMO_PAGE_LINKED_ID}",
        params={"fields": "name"},
        headers=bearer(wired),
    )
    assert page.status_code == 200 and page.json()["name"] == "Demo Business Page"
    checked = await wired.service.post(f"/v1/accounts/{account.id}/refresh", headers=bearer(wired))
    assert checked.status_code == 200 and checked.json()["kind"] == "fb_page"
    assert wired.vault.events(account_id=account.id, types=["token_checked"])


async def test_password_change_becomes_409_with_reauthorize_url_and_the_link_repairs_it(wired):
    """After a password change the on-demand check finds the page token dead (190/460): 409 with a
    re-authorization link, from then on for token reads too; the link logs in again, same account."""
    account_id = await connect_fb(wired)
    wired.world.change_password(demo.DEMO_FB_USER)
    checked = await wired.service.post(f"/v1/accounts/{account_id}/refresh", headers=bearer(wired))
    assert checked.status_code == 409
    error = checked.json()["error"]
    assert error["type"] == "needs_reauthorization" and "460" in error["message"]
    assert "/connect/" in error["reauthorize_url"]
    assert wired.vault.get_account(account_id).status == "needs_reauth"
    refused = await wired.service.get(f"/v1/accounts/{account_id}/token", headers=bearer(wired))
    assert refused.status_code == 409 and "/connect/" in refused.json()["error"]["reauthorize_url"]
    code = refused.json()["error"]["reauthorize_url"].rsplit("/", 1)[1]
    assert (await wired.service.get(await start_fb(wired, code))).status_code == 200
    (account,) = wired.vault.list_accounts()
    assert account.id == account_id and account.status == "active"
    ok = await wired.service.get(f"/v1/accounts/{account_id}/token", headers=bearer(wired))
    assert ok.status_code == 200


async def test_no_linked_page_stores_nothing_and_says_why(wired):
    """A Facebook user whose only Page is business-owned, without business_management: nothing stored,
    and the page names business_management."""
    wired.world.create_facebook_user("agency_only", name="Agency Only")
    wired.world.add_page("agency_only", "Agency Only Page", business_owned=True)
    code = new_fb_link(wired, scopes=["instagram_basic", "pages_show_list"])
    answer = await wired.service.get(await start_fb(wired, code, user="agency_only"))
    assert answer.status_code == 403
    assert "business_management" in answer.text and "Nothing was stored" in answer.text
    assert wired.vault.list_accounts() == []


def fb_payload(w: Wired) -> dict:
    return {
        "algorithm": "HMAC-SHA256",
        "issued_at": int(w.now().timestamp()),
        "user_id": demo.DEMO_FB_USER_ID,
    }


async def test_deauthorize_is_verified_with_the_meta_app_secret(wired):
    """A deauthorize for the Facebook user, signed with the Meta app secret, destroys the Page account's
    tokens; signed with the Instagram app's secret it names nobody of the Facebook app."""
    account_id = await connect_fb(wired)
    with_ig_secret = sign(fb_payload(wired), demo.DEMO_IG_APP_SECRET)
    other = await wired.service.post("/meta/deauthorize", data={"signed_request": with_ig_secret})
    assert other.status_code == 200 and other.json()["account"] is None
    assert wired.vault.get_account(account_id).status == "active"
    signed = sign(fb_payload(wired), demo.DEMO_FB_APP_SECRET)
    answer = await wired.service.post("/meta/deauthorize", data={"signed_request": signed})
    assert answer.status_code == 200 and answer.json()["account"] == account_id
    account = wired.vault.get_account(account_id)
    assert account.status == "deauthorized" and account.status_reason == "removed the app on Facebook"
    assert wired.vault.token_history(account_id) == []


async def test_data_deletion_for_the_facebook_user(wired):
    """A data-deletion request for the Facebook user deletes the Page account's data and tokens."""
    account_id = await connect_fb(wired)
    signed = sign(fb_payload(wired), demo.DEMO_FB_APP_SECRET)
    answer = await wired.service.post("/meta/data-deletion", data={"signed_request": signed})
    assert answer.status_code == 200 and answer.json()["confirmation_code"].isalnum()
    gone = wired.vault.get_account(account_id)
    assert gone.status == "deleted" and gone.page_id is None and gone.fb_user_id is None


async def test_dashboard_shows_page_token_never_expires(wired):
    """The dashboard lists the Facebook Login account with its Page and "never expires"."""
    account_id = await connect_fb(wired)
    signin = await wired.service.get("/signin")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', signin.text).group(1)
    state = wired.service._transport.app.state.igtoken  # type: ignore[attr-defined]
    await wired.service.post("/signin", data={"csrf_token": csrf, "password": state.admin_password.reveal()})
    listing = await wired.service.get("/dashboard")
    assert "demo_business" in listing.text and "never expires" in listing.text
    assert "Demo Business Page" in listing.text
    detail = await wired.service.get(f"/dashboard/accounts/{account_id}")
    assert "never expires" in detail.text and "Data access" in detail.text
    assert "Facebook user token" in detail.text and "Check now" in detail.text
    links = await wired.service.get("/dashboard/links")
    assert "demo-facebook (Facebook Login)" in links.text


async def test_declined_instagram_basic_offers_ask_again_which_connects(wired):
    """Issue 20's done-when: declining instagram_basic connects nothing and shows a page naming it with an
    'Ask me again' link; that link's dialog carries auth_type=rerequest, asks again, and connects."""
    code = new_fb_link(wired)
    answer = await wired.service.get(await start_fb(wired, code, decline="instagram_basic"))
    assert answer.status_code == 403
    assert "A permission is missing" in answer.text and "instagram_basic" in answer.text
    assert "Nothing was stored" in answer.text and "Connected" not in answer.text
    assert wired.vault.list_accounts() == []
    ask_again = re.search(r'href="(/connect/[^"]+/authorize\?rerequest=1)"', answer.text)
    assert ask_again, answer.text
    hop = await wired.service.get(ask_again.group(1))
    assert "auth_type=rerequest" in hop.headers["location"]
    done = await wired.service.get(await start_fb(wired, code, authorize=ask_again.group(1)))
    assert done.status_code == 200 and "@demo_business (Demo Business Page)" in done.text
    (account,) = wired.vault.list_accounts()
    assert "instagram_basic" in account.scopes


async def test_declined_pages_show_list_is_a_page_not_raw_json(wired):
    """Declining pages_show_list shows the missing-permission page naming it (not Meta's (#10) JSON)."""
    answer = await wired.service.get(await start_fb(wired, new_fb_link(wired), decline="pages_show_list"))
    assert answer.status_code == 403 and answer.headers["content-type"].startswith("text/html")
    assert "pages_show_list" in answer.text and "(#10)" not in answer.text
    assert wired.vault.list_accounts() == []


async def test_development_mode_non_tester_sees_the_explanation(wired):
    """A development-mode app and a person without a role: the development-mode page with the fix."""
    wired.world.update_app(demo.DEMO_FB_APP_ID, mode="development")
    answer = await wired.service.get(await start_fb(wired, new_fb_link(wired)))
    assert answer.status_code == 403
    assert "development mode" in answer.text and "App roles" in answer.text and "Live" in answer.text
    assert wired.vault.list_accounts() == []


async def test_business_management_declined_connects_with_a_note(wired):
    """Without business_management the linked Page connects; the success page says business Pages may
    be missing."""
    answer = await wired.service.get(await start_fb(wired, new_fb_link(wired), decline="business_management"))
    assert answer.status_code == 200 and "@demo_business" in answer.text
    assert "business_management" in answer.text


async def test_reauthorization_link_sends_rerequest(wired):
    """A re-authorization link for a Facebook Login account asks again for declined permissions."""
    account_id = await connect_fb(wired)
    code = new_fb_link(wired, account_id=account_id)
    hop = await wired.service.get(f"/connect/{code}/authorize")
    assert "auth_type=rerequest" in hop.headers["location"]
