"""The demo world the emulator starts with: fixed, documented credentials (see docs/emulator.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final
from urllib.parse import quote

if TYPE_CHECKING:
    from igtoken.emulator.clock import EmulatorClock
    from igtoken.emulator.switches import Switches
    from igtoken.emulator.world import World

DEMO_IG_APP_NAME: Final = "igtoken demo"
DEMO_IG_APP_ID: Final = "990600000000001"
DEMO_IG_APP_SECRET: Final = "demo-instagram-app-secret"  # noqa: S105 - a published demo credential
DEMO_IG_META_APP_ID: Final = "880600000000001"
DEMO_IG_META_APP_SECRET: Final = "demo-meta-app-secret"  # noqa: S105 - a published demo credential

DEMO_FB_APP_NAME: Final = "igtoken demo (Facebook Login)"
DEMO_FB_APP_ID: Final = "770600000000001"
DEMO_FB_APP_SECRET: Final = "demo-facebook-app-secret"  # noqa: S105 - a published demo credential
#: The demo Facebook app's Login for Business configuration (``config_id``); the dialog refuses others.
DEMO_FB_CONFIG_ID: Final = "987654321"

DEMO_REDIRECT_URIS: Final = (
    "http://127.0.0.1:8000/oauth/callback",
    "http://localhost:8000/oauth/callback",
    "http://127.0.0.1:8765/callback",
    "http://localhost:8765/callback",
)
DEMO_WEBHOOK_VERIFY_TOKEN: Final = "demo-verify-token"  # noqa: S105 - a published demo credential

DEMO_BUSINESS: Final = "demo_business"
DEMO_BUSINESS_IG_ID: Final = "17841400000000001"
DEMO_CREATOR: Final = "demo_creator"
DEMO_CREATOR_IG_ID: Final = "17841400000000002"
DEMO_PERSONAL: Final = "demo_personal"
DEMO_PERSONAL_IG_ID: Final = "17841400000000003"

DEMO_FB_USER: Final = "demo_fb_user"
DEMO_FB_USER_ID: Final = "10000000000000001"
DEMO_PAGE_LINKED_ID: Final = "100000000000001"
DEMO_PAGE_UNLINKED_ID: Final = "100000000000002"

DEFAULT_PORT: Final = 8790


def demo_world(*, clock: EmulatorClock | None = None, switches: Switches | None = None) -> World:
    """A fresh world with the two demo apps, three Instagram accounts and a Facebook user with two Pages."""
    # Imported here: the constants above are read by the CLI, which should not load the world model.
    from igtoken.emulator.world import World

    world = World(clock=clock, switches=switches)
    world.create_app(
        name=DEMO_IG_APP_NAME,
        meta_app_id=DEMO_IG_META_APP_ID,
        meta_app_secret=DEMO_IG_META_APP_SECRET,
        instagram_app_id=DEMO_IG_APP_ID,
        instagram_app_secret=DEMO_IG_APP_SECRET,
        redirect_uris=DEMO_REDIRECT_URIS,
        mode="live",
        webhook_verify_token=DEMO_WEBHOOK_VERIFY_TOKEN,
    )
    world.create_app(
        name=DEMO_FB_APP_NAME,
        meta_app_id=DEMO_FB_APP_ID,
        meta_app_secret=DEMO_FB_APP_SECRET,
        instagram_login=False,
        fb_config_id=DEMO_FB_CONFIG_ID,
        redirect_uris=DEMO_REDIRECT_URIS,
        mode="live",
        webhook_verify_token=DEMO_WEBHOOK_VERIFY_TOKEN,
    )
    world.create_account(
        DEMO_BUSINESS,
        "BUSINESS",
        ig_id=DEMO_BUSINESS_IG_ID,
        name="Demo Business",
        biography="A business account in the igtoken emulator.",
        followers_count=1200,
        follows_count=180,
        media_count=30,
    )
    world.create_account(
        DEMO_CREATOR,
        "MEDIA_CREATOR",
        ig_id=DEMO_CREATOR_IG_ID,
        name="Demo Creator",
        followers_count=5400,
        follows_count=310,
        media_count=5,
    )
    world.create_account(
        DEMO_PERSONAL, "PERSONAL", ig_id=DEMO_PERSONAL_IG_ID, name="Demo Personal", media_count=3
    )
    world.create_facebook_user(DEMO_FB_USER, name="Demo Facebook User", fb_user_id=DEMO_FB_USER_ID)
    world.add_page(
        DEMO_FB_USER, "Demo Business Page", page_id=DEMO_PAGE_LINKED_ID, instagram_account=DEMO_BUSINESS
    )
    world.add_page(DEMO_FB_USER, "Demo Agency Page", page_id=DEMO_PAGE_UNLINKED_ID, business_owned=True)
    return world


def describe_world(world: World, base_url: str) -> str:
    """The start-up banner: where to send requests, and every app and account with its credentials."""
    lines = [
        f"igtoken Meta emulator on {base_url}",
        "",
        "Hosts (path-prefix form; or send the real Host header):",
    ]
    for host in (
        "www.instagram.com",
        "api.instagram.com",
        "graph.instagram.com",
        "www.facebook.com",
        "graph.facebook.com",
    ):
        lines.append(f"  {base_url}/{host}/…")
    lines += ["", f"Control API: {base_url}/_emulator/world   (docs/emulator.md)", "", "Apps:"]
    for app in world.apps.values():
        lines.append(f"  {app.name}  [{app.mode}]")
        if app.instagram_app_id:
            lines.append(
                f"    Instagram app id / secret: {app.instagram_app_id} / {app.instagram_app_secret}"
            )
        lines.append(f"    Meta app id / secret:      {app.meta_app_id} / {app.meta_app_secret}")
        for uri in app.redirect_uris:
            lines.append(f"    redirect URI: {uri}")
    lines += ["", "Instagram accounts:"]
    for account in list(world.accounts.values())[:20]:
        lines.append(f"  {account.username:<16} {account.account_type:<14} ig id {account.ig_id}")
    if len(world.accounts) > 20:
        lines.append(f"  … and {len(world.accounts) - 20} more")
    if world.fb_users:
        lines += ["", "Facebook users:"]
    for user in world.fb_users.values():
        lines.append(f"  {user.username:<16} id {user.fb_user_id}")
        for page_id in user.page_ids:
            page = world.pages[page_id]
            linked = (
                f"linked to IG {page.instagram_account_id}" if page.instagram_account_id else "no IG account"
            )
            owned = ", business-owned" if page.business_owned else ""
            lines.append(f"    Page {page.page_id} {page.name!r} ({linked}{owned})")
    ig_app = next((a for a in world.apps.values() if a.instagram_app_id and a.redirect_uris), None)
    example = next((a for a in world.accounts.values() if a.account_type != "PERSONAL"), None)
    if ig_app is not None and example is not None:
        lines += [
            "",
            "Try it (Instagram Login, consent shortcut; docs/emulator.md walks the whole flow):",
            f"  curl -si '{base_url}/www.instagram.com/oauth/authorize?client_id={ig_app.instagram_app_id}"
            f"&redirect_uri={quote(ig_app.redirect_uris[0], safe='')}&response_type=code"
            f"&scope=instagram_business_basic&state=s1&emulator_account={example.username}"
            "&emulator_decision=approve' | grep -i '^location'",
        ]
    switched = {k: v for k, v in world.switches.as_dict().items() if v != getattr(type(world.switches)(), k)}
    lines += ["", f"Switches changed from defaults: {switched or 'none'}"]
    return "\n".join(lines)
