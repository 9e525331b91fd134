"""Connect links end to end: multiple use, racing tabs, revocation, reused re-auth links, sandbox URIs."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import httpx

from igtoken.app.runtime import allow_redirect_uris
from igtoken.core.endpoints import Endpoints
from igtoken.core.secret import Secret
from igtoken.service.assembly import build_app

from .conftest import Wired, bearer, sign_in_wired
from .test_wired_service import connect, new_link, start


def link_id_of(w: Wired, code: str) -> str:
    return w.vault.links.get(Secret(code)).id


async def test_multiple_use_link_connects_two_accounts_then_is_used_up(wired):
    """A 2-use link connects two different accounts; its page then says it has been used (410)."""
    code = new_link(wired, max_uses=2)
    for account in ("demo_business", "demo_creator"):
        done = await wired.service.get(await start(wired, code, account=account))
        assert done.status_code == 200, done.text
    assert sorted(a.username for a in wired.vault.list_accounts()) == ["demo_business", "demo_creator"]
    gone = await wired.service.get(f"/connect/{code}")
    assert gone.status_code == 410 and "already been used" in gone.text
    assert wired.vault.links.get_by_id(link_id_of(wired, code)).uses == 2


async def test_two_tabs_finishing_one_single_use_link_store_exactly_one(wired):
    """Two flows started on one single-use link and finished at once: one 200, one 410, one account."""
    code = new_link(wired)
    first = await start(wired, code, account="demo_business")
    second = await start(wired, code, account="demo_creator")
    answers = await asyncio.gather(wired.service.get(first), wired.service.get(second))
    assert sorted(a.status_code for a in answers) == [200, 410]
    loser = next(a for a in answers if a.status_code == 410)
    assert "used meanwhile" in loser.text or "Nothing was stored" in loser.text
    assert len(wired.vault.list_accounts()) == 1
    assert len(wired.vault.events(types=["connected"])) == 1


async def test_second_tab_after_the_first_finished_stores_nothing(wired):
    """Finishing a single-use link's second flow after the first is a clear 410 and stores nothing."""
    code = new_link(wired)
    first = await start(wired, code, account="demo_business")
    second = await start(wired, code, account="demo_creator")
    assert (await wired.service.get(first)).status_code == 200
    late = await wired.service.get(second)
    assert late.status_code == 410 and "used meanwhile" in late.text
    assert [a.username for a in wired.vault.list_accounts()] == ["demo_business"]


async def test_revoked_link_says_so_and_its_pending_flow_cannot_finish(wired):
    """Revoking from the dashboard: the page is 410 "revoked", a flow already at Instagram stores nothing."""
    code = new_link(wired, label="to revoke")
    pending = await start(wired, code)
    csrf = await sign_in_wired(wired)
    link_id = link_id_of(wired, code)
    revoked = await wired.service.post(f"/dashboard/links/{link_id}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 303
    page = await wired.service.get("/dashboard/links")
    assert "Link revoked." in page.text and "badge-revoked" in page.text
    landing = await wired.service.get(f"/connect/{code}")
    assert landing.status_code == 410 and "revoked" in landing.text
    assert (await wired.service.get(f"/connect/{code}/authorize")).status_code == 410
    callback = await wired.service.get(pending)
    assert callback.status_code == 410 and "revoked" in callback.text
    assert wired.vault.list_accounts() == []
    again = await wired.service.post(f"/dashboard/links/{link_id}/revoke", data={"csrf_token": csrf})
    assert again.status_code == 303
    assert "Nothing to revoke" in (await wired.service.get("/dashboard/links")).text


async def test_dashboard_shows_used_revoked_expired_and_active_distinctly(wired):
    """Each link's status is its own: used, revoked, expired, active; uses are shown as "n of m"."""
    await connect(wired)  # a used single-use link, labelled "for tests"
    revoked = new_link(wired, label="withdrawn")
    wired.vault.links.revoke(link_id_of(wired, revoked), now=wired.now())
    wired.vault.links.create(
        "demo", now=wired.now(), expires_at=wired.now() + timedelta(minutes=1), label="short-lived"
    )
    new_link(wired, label="open", max_uses=None)
    wired.world.clock.advance(120)
    await sign_in_wired(wired)
    page = (await wired.service.get("/dashboard/links")).text
    rows = {
        label: status
        for label, status in re.findall(
            r'<td data-label="Label">([^<]+?)(?: <span[^>]*>[^<]*</span>)?</td>.*?badge-([a-z-]+)', page, re.S
        )
    }
    assert rows == {"for tests": "used", "withdrawn": "revoked", "short-lived": "expired", "open": "active"}
    assert "1 of 1" in page and "0 of unlimited" in page


async def test_dashboard_form_makes_single_multiple_and_unlimited_links(wired):
    """The create form's three choices become max_uses 1, N and unlimited; a bad choice is refused."""
    csrf = await sign_in_wired(wired)
    app_id = wired.vault.get_app("demo").id
    base = {"csrf_token": csrf, "app_id": app_id, "expires_in_hours": "24"}
    for choice, extra in (("single", {}), ("multiple", {"max_uses": "5"}), ("unlimited", {})):
        made = await wired.service.post(
            "/dashboard/links", data={**base, "label": choice, "use_limit": choice, **extra}
        )
        assert made.status_code == 201 and "/connect/" in made.text
    limits = {link.label: link.max_uses for link in wired.vault.links.list_all()}
    assert limits == {"single": 1, "multiple": 5, "unlimited": None}
    no_number = await wired.service.post(
        "/dashboard/links", data={**base, "use_limit": "multiple", "max_uses": ""}
    )
    assert no_number.status_code == 400 and "number of uses" in no_number.text
    one = await wired.service.post(
        "/dashboard/links", data={**base, "use_limit": "multiple", "max_uses": "1"}
    )
    assert one.status_code == 422
    odd = await wired.service.post("/dashboard/links", data={**base, "use_limit": "twice"})
    assert odd.status_code == 422
    assert len(wired.vault.links.list_all()) == 3
    form = (await wired.service.get("/dashboard/links")).text
    assert 'name="use_limit" value="unlimited"' in form and 'name="max_uses"' in form


async def test_409_answers_reuse_one_open_reauthorization_link(wired):
    """Repeated 409s (and the dashboard button) hand out one link; once it is used, a new one."""
    account_id = await connect(wired)
    wired.vault.mark_needs_reauth(account_id, "code 190", now=wired.now())
    urls = set()
    for _ in range(3):
        answer = await wired.service.get(f"/v1/accounts/{account_id}/token", headers=bearer(wired))
        assert answer.status_code == 409
        urls.add(answer.json()["error"]["reauthorize_url"])
    [url] = urls
    reauth_links = [x for x in wired.vault.links.list_all() if x.account_id == account_id]
    assert len(reauth_links) == 1
    csrf = await sign_in_wired(wired)
    button = await wired.service.post(
        f"/dashboard/accounts/{account_id}/reauth-link", data={"csrf_token": csrf}
    )
    assert url in button.text
    code = url.rsplit("/", 1)[1]
    assert (await wired.service.get(await start(wired, code))).status_code == 200
    assert wired.vault.get_account(account_id).status == "active"
    wired.vault.mark_needs_reauth(account_id, "code 190 again", now=wired.now())
    later = await wired.service.get(f"/v1/accounts/{account_id}/token", headers=bearer(wired))
    assert later.json()["error"]["reauthorize_url"] != url


async def test_sandbox_service_at_a_new_address_works_without_changing_the_vault(wired):
    """A sandbox service elsewhere uses its own callback (leased with the emulator); the vault is unchanged.

    Older versions wrote each address's callback into the demo apps for good, and `doctor` then
    failed once that service was gone.
    """
    other = "http://elsewhere.test"
    allow_redirect_uris(wired.emulator, [f"{other}/oauth/callback"])  # type: ignore[arg-type]
    before = {name: wired.vault.get_app(name).redirect_uris for name in ("demo", "demo-facebook")}
    app = build_app(
        wired.runtime,
        public_url=other,
        endpoints=Endpoints.emulator("http://emulator.test"),
        sandbox=True,
        worker=False,
        http=wired.meta,
        clock=wired.world.clock.now,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=other) as service:
        code = new_link(wired)
        hop = await service.get(f"/connect/{code}/authorize")
        assert hop.status_code == 303 and "elsewhere.test" in hop.headers["location"]
    assert {name: wired.vault.get_app(name).redirect_uris for name in before} == before
