"""Issue 20: a Facebook Login app's Login for Business configuration (``config_id``) on connect links.

A link of an app with a configuration opens Facebook's dialog with ``config_id`` and no ``scope`` (the
configuration fixes the permissions) and connects; a link that names its own scopes asks for those.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from igtoken.app.runtime import SANDBOX_FB_APP
from igtoken.emulator import demo

from .test_wired_facebook import new_fb_link, start_fb


async def dialog_query(w, code: str) -> dict[str, str]:
    hop = await w.service.get(f"/connect/{code}/authorize")
    assert hop.status_code == 303, hop.text
    return dict(parse_qsl(urlsplit(hop.headers["location"]).query))


async def test_link_of_an_app_with_a_configuration_sends_config_id_and_connects(wired):
    wired.vault.update_app(SANDBOX_FB_APP, now=wired.now(), config_id=demo.DEMO_FB_CONFIG_ID)
    code = new_fb_link(wired, label="configured")
    query = await dialog_query(wired, code)
    assert query["config_id"] == demo.DEMO_FB_CONFIG_ID and "scope" not in query
    done = await wired.service.get(await start_fb(wired, code))
    assert done.status_code == 200, done.text
    (account,) = wired.vault.list_accounts()
    assert account.page_id == demo.DEMO_PAGE_LINKED_ID and account.status == "active"


async def test_link_naming_scopes_asks_for_them_instead(wired):
    wired.vault.update_app(SANDBOX_FB_APP, now=wired.now(), config_id=demo.DEMO_FB_CONFIG_ID)
    code = new_fb_link(wired, scopes=["instagram_basic", "pages_show_list"])
    query = await dialog_query(wired, code)
    assert "config_id" not in query and query["scope"] == "instagram_basic,pages_show_list"


async def test_without_a_configuration_the_scopes_go(wired):
    query = await dialog_query(wired, new_fb_link(wired))
    assert "config_id" not in query and "instagram_basic" in query["scope"]
