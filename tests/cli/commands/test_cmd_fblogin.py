"""Facebook Login apps in the CLI, against the sandbox emulator's demo world: login, token, doctor."""

from __future__ import annotations

import json
from collections.abc import Callable

from igtoken import AppCredentials, Client, ClientConfig, Endpoints, Secret
from igtoken.app.runtime import SandboxEmulator
from igtoken.emulator import World, demo
from tests.support.cli import invoke


def change_sandbox_world(change: Callable[[World], object]) -> None:
    """Edit the sandbox world in its state file, as its control API would (the CLI reloads it)."""
    sandbox = SandboxEmulator()
    world: World = sandbox.app().state.world
    change(world)
    world.save(sandbox.state_file)


def sandbox_login(*args: str) -> dict:
    """`igtoken login --sandbox --app demo-facebook --no-browser --json ARGS`: the JSON report."""
    result = invoke(["login", "--sandbox", "--app", "demo-facebook", "--no-browser", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_sandbox_login_then_page_token_valid_forever() -> None:
    """The issue's done-when: login connects the linked Page, `token` prints its page token, and the
    emulator's debug_token (with the Meta app's token) calls it a valid PAGE token that never expires."""
    report = sandbox_login()
    (account,) = report["accounts"]
    assert account["username"] == demo.DEMO_BUSINESS
    assert account["ig_user_id"] == demo.DEMO_BUSINESS_IG_ID
    assert account["page_id"] == demo.DEMO_PAGE_LINKED_ID and account["expires_at"] is None
    # graph.facebook.com does not say whether a Page's account is business or creator: not guessed.
    assert account["account_type"] is None
    assert report["unlinked_pages"] == [{"id": demo.DEMO_PAGE_UNLINKED_ID, "name": "Demo Agency Page"}]
    assert report["user_token_expires_at"] and report["data_access_expires_at"]

    token = invoke(["--sandbox", "token", demo.DEMO_BUSINESS])
    assert token.exit_code == 0, token.output
    page_token = token.stdout.strip()
    assert page_token.startswith("EAA")
    as_json = json.loads(invoke(["--sandbox", "token", demo.DEMO_BUSINESS, "--json"]).stdout)
    assert as_json["kind"] == "fb_page" and as_json["expires_at"] is None

    with SandboxEmulator().serve() as running:
        config = ClientConfig(
            AppCredentials(demo.DEMO_FB_APP_ID, Secret(demo.DEMO_FB_APP_SECRET), demo.DEMO_REDIRECT_URIS[2]),
            endpoints=Endpoints.emulator(running.url),
        )
        with Client(config) as client:
            info = client.debug_token(Secret(page_token), app_token=client.facebook_app_token())
    assert info.is_valid and info.type == "PAGE"
    assert info.expires_at is None
    assert info.profile_id == demo.DEMO_PAGE_LINKED_ID


def test_human_output_names_the_unlinked_page() -> None:
    """Without --json: the connected account, its never-expiring page token, and the unlinked Page."""
    result = invoke(["login", "--sandbox", "--app", "demo-facebook", "--no-browser"])
    assert result.exit_code == 0, result.output
    assert "Connected @demo_business through the Page 'Demo Business Page'" in result.stdout
    assert "never expires" in result.stdout
    assert "'Demo Agency Page' has no linked Instagram professional account" in result.stderr
    listed = json.loads(invoke(["--sandbox", "accounts", "list", "--json"]).stdout)["accounts"]
    (row,) = listed
    assert row["page"] == {"id": demo.DEMO_PAGE_LINKED_ID, "name": "Demo Business Page"}
    assert row["token"]["kind"] == "fb_page" and row["token"]["days_left"] is None


def test_business_owned_page_hidden_without_business_management() -> None:
    """A person whose only Page is business-owned, logging in without business_management: nothing is
    connected, exit 3, and the fix names business_management."""

    def add_agency_user(world: World) -> None:
        world.create_facebook_user("agency_only", name="Agency Only")
        world.add_page(
            "agency_only", "Agency Only Page", business_owned=True, instagram_account="demo_creator"
        )

    change_sandbox_world(add_agency_user)
    args = ["login", "--sandbox", "--app", "demo-facebook", "--no-browser", "--account", "agency_only"]
    scoped = [*args, "--scope", "instagram_basic", "--scope", "pages_show_list"]
    result = invoke([*scoped, "--json"])
    assert result.exit_code == 3, result.output
    error = json.loads(result.stdout)["error"]
    assert "connected no Instagram account" in error["message"]
    assert "business_management" in error["fix"]
    assert json.loads(invoke(["--sandbox", "accounts", "list", "--json"]).stdout) == {"accounts": []}
    # With business_management the same person's Page (linked to demo_creator) comes back.
    report = sandbox_login("--account", "agency_only")
    assert [a["username"] for a in report["accounts"]] == ["demo_creator"]


def test_password_change_means_reauthorization() -> None:
    """After a password change, doctor's debug_token check finds the page token dead (190/460) and says
    how to log in again; from then on `igtoken token` exits 3 naming that login."""
    sandbox_login()
    change_sandbox_world(lambda world: world.change_password(demo.DEMO_FB_USER))
    doctor = invoke(["--sandbox", "doctor", "--app", "demo-facebook", "--json"])
    assert doctor.exit_code == 1
    failed = {c["name"]: c for c in json.loads(doctor.stdout)["checks"] if not c["ok"]}
    assert "190/460" in failed["page token"]["detail"]
    assert "needing re-authorization" in failed["page token"]["detail"]
    assert "igtoken login --app demo-facebook --sandbox" in failed["page token"]["fix"]
    token = invoke(["--sandbox", "token", demo.DEMO_BUSINESS])
    assert token.exit_code == 3
    assert "needs_reauth" in token.stderr and "igtoken login --app demo-facebook --sandbox" in token.stderr
    # Logging in again (the new password's session) makes the account usable again.
    sandbox_login()
    assert invoke(["--sandbox", "token", demo.DEMO_BUSINESS]).exit_code == 0
    healthy = invoke(["--sandbox", "doctor", "--app", "demo-facebook", "--json"])
    assert healthy.exit_code == 0, healthy.stdout


def test_doctor_refuses_instagram_login_scope_names_on_facebook_app() -> None:
    """A Facebook Login app asking for instagram_business_basic is told the Facebook name to use."""
    sandbox_login()
    from igtoken.cli._context import AppContext

    context = AppContext(sandbox=True)
    context.vault.update_app("demo-facebook", now=context.now(), default_scopes=["instagram_business_basic"])
    context.close()
    doctor = invoke(["--sandbox", "doctor", "--app", "demo-facebook", "--json"])
    failed = {c["name"]: c for c in json.loads(doctor.stdout)["checks"] if not c["ok"]}
    assert "'instagram_basic'" in failed["scope"]["fix"]
    assert "not granted: instagram_business_basic" in failed["permissions"]["detail"]


def test_declined_instagram_basic_exits_3_then_rerequest_connects() -> None:
    """Issue 20: declining instagram_basic connects nothing and exits 3 naming it; a plain login
    again is not asked again (still refused); --rerequest asks again and then connects."""
    args = ["login", "--sandbox", "--app", "demo-facebook", "--no-browser", "--json"]
    declined = invoke([*args, "--decline", "instagram_basic"])
    assert declined.exit_code == 3, declined.output
    error = json.loads(declined.stdout)["error"]
    assert "declined instagram_basic" in error["message"]
    assert "rerequest" in error["fix"]
    assert json.loads(invoke(["--sandbox", "accounts", "list", "--json"]).stdout) == {"accounts": []}
    again = invoke(args)
    assert again.exit_code == 3 and "instagram_basic" in json.loads(again.stdout)["error"]["message"]
    report = sandbox_login("--rerequest")
    assert [a["username"] for a in report["accounts"]] == [demo.DEMO_BUSINESS]


def test_declined_pages_show_list_exits_3_naming_it() -> None:
    """Declining pages_show_list is an exit 3 naming the permission, not an unclassified (#10)."""
    result = invoke(
        [
            "login",
            "--sandbox",
            "--app",
            "demo-facebook",
            "--no-browser",
            "--json",
            "--decline",
            "pages_show_list",
        ]
    )
    assert result.exit_code == 3, result.output
    error = json.loads(result.stdout)["error"]
    assert "pages_show_list" in error["message"] and "pages_show_list" in error["fix"]


def test_business_management_declined_connects_with_a_note() -> None:
    """Without business_management the linked Page still connects, with the business-Page hint; the
    next login sees the stored account lacks it and asks again by itself (auth_type=rerequest)."""
    report = sandbox_login("--decline", "business_management")
    assert [a["username"] for a in report["accounts"]] == [demo.DEMO_BUSINESS]
    assert "business_management" in report["business_management_hint"]
    again = invoke(["login", "--sandbox", "--app", "demo-facebook", "--no-browser", "--json"])
    assert again.exit_code == 0, again.output
    assert "auth_type=rerequest" in again.stderr
    (account,) = json.loads(again.stdout)["accounts"]
    assert "business_management" in account["scopes"]
    assert json.loads(again.stdout)["business_management_hint"] is None


def test_development_mode_non_tester_exits_3_with_the_fix() -> None:
    """A development-mode app and a person without a role: exit 3 explaining development mode."""
    change_sandbox_world(lambda world: world.update_app(demo.DEMO_FB_APP_ID, mode="development"))
    result = invoke(["login", "--sandbox", "--app", "demo-facebook", "--no-browser", "--json"])
    assert result.exit_code == 3, result.output
    error = json.loads(result.stdout)["error"]
    assert "development mode" in error["message"]
    assert "App roles" in error["fix"] and "Live" in error["fix"]
