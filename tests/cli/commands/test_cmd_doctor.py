"""``igtoken doctor`` scenarios, each against the emulator with the fault it detects; audit-permissions."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from igtoken.cli._context import AppContext
from igtoken.core.models import FlowKind
from igtoken.core.secret import Secret
from igtoken.emulator import demo
from igtoken.testing import RunningEmulator
from tests.support.cli import invoke, seed_account

CHECK_KEYS = {"name", "subject", "ok", "detail", "fix"}


def run_doctor(*args: str) -> tuple[int, dict[str, Any]]:
    """Run doctor --json; the exit code and the report (checked against its documented shape)."""
    result = invoke(["doctor", *args, "--json"])
    body = json.loads(result.stdout)
    assert set(body) == {"ok", "checks"}
    assert all(set(c) == CHECK_KEYS for c in body["checks"])
    assert body["ok"] == (result.exit_code == 0)
    return result.exit_code, body


def failures(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Failed checks by name."""
    return {c["name"]: c for c in body["checks"] if not c["ok"]}


def add_app(
    name: str,
    *,
    app_id: str = demo.DEMO_IG_APP_ID,
    secret: str = demo.DEMO_IG_APP_SECRET,
    redirect_uris: tuple[str, ...] = (demo.DEMO_REDIRECT_URIS[2],),
    scopes: tuple[str, ...] = (),
    flow: FlowKind = FlowKind.INSTAGRAM_LOGIN,
) -> None:
    """Register an app straight in the vault (apps add would refuse some of these mistakes)."""
    from datetime import UTC, datetime

    context = AppContext()
    context.vault.add_app(
        name,
        instagram_app_id=app_id,
        app_secret=Secret(secret),
        redirect_uris=list(redirect_uris),
        now=datetime.now(UTC),
        default_scopes=scopes,
        flow_kind=flow,
        meta_app_id=app_id if flow is FlowKind.FACEBOOK_LOGIN else None,
        meta_app_secret=Secret(secret) if flow is FlowKind.FACEBOOK_LOGIN else None,
    )
    context.close()


@pytest.fixture
def meta(emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> RunningEmulator:
    """Every Meta host goes to the emulator."""
    monkeypatch.setenv("IGTOKEN_META_BASE_URL", emulator.url)
    return emulator


def test_healthy_app_and_account_pass(registered: str, emulator: RunningEmulator) -> None:
    """A correct app with a fresh account passes every check (exit 0), one line per check."""
    seed_account(emulator, age=timedelta(days=1), due=False)
    code, body = run_doctor()
    assert code == 0, failures(body)
    names = [c["name"] for c in body["checks"]]
    for name in ("scopes", "app id", "redirect URI", "app secret", "token", "account type", "permissions"):
        assert name in names
    assert {"expiry", "Meta usage"} <= set(names)
    text = invoke(["doctor"]).stdout
    assert "PASS" in text and "FAIL" not in text


def test_facebook_app_id_given_as_instagram_app_id(meta: RunningEmulator) -> None:
    """The Facebook app id where the Instagram app id belongs: "Invalid platform app", and where to look."""
    add_app("mixed", app_id=demo.DEMO_IG_META_APP_ID)
    code, body = run_doctor("--app", "mixed")
    assert code == 1
    failed = failures(body)["app id"]
    assert "Invalid platform app" in failed["detail"]
    assert "Instagram app id" in failed["fix"] and "not the Facebook app id" in failed["fix"]


def test_secret_rejected(meta: RunningEmulator) -> None:
    """A secret Meta rejects (here the Meta app secret) is named, with where the right one is."""
    add_app("badsecret", secret=demo.DEMO_IG_META_APP_SECRET)
    code, body = run_doctor("--app", "badsecret")
    assert code == 1
    assert "apps set-secret" in failures(body)["app secret"]["fix"]


def test_redirect_uri_trailing_slash(meta: RunningEmulator) -> None:
    """Our redirect URI has a trailing slash Meta's lacks: the fix names the URI Meta has."""
    add_app("slash", redirect_uris=(demo.DEMO_REDIRECT_URIS[2] + "/",))
    code, body = run_doctor("--app", "slash")
    assert code == 1
    failed = failures(body)["redirect URI"]
    assert "Invalid redirect_uri" in failed["detail"]
    assert repr(demo.DEMO_REDIRECT_URIS[2]) in failed["fix"]


def test_redirect_uri_www(meta: RunningEmulator) -> None:
    """Meta has the www. form of the host registered: the fix says so."""
    meta.world.update_app(demo.DEMO_IG_APP_ID, add_redirect_uris=["https://www.shop.example/cb"])
    add_app("www", redirect_uris=("https://shop.example/cb",))
    code, body = run_doctor("--app", "www")
    assert code == 1
    assert "'https://www.shop.example/cb'" in failures(body)["redirect URI"]["fix"]


def test_redirect_uri_not_https_against_meta() -> None:
    """Against Meta itself, a plain-http redirect URI is refused before any request (static check)."""
    from igtoken.cli._doctor import _static_redirect_checks
    from igtoken.vault import AppRecord

    context = AppContext()
    add_app("plain", redirect_uris=("http://shop.example/cb",))
    record: AppRecord = context.vault.get_app("plain")
    context.close()
    (check,) = _static_redirect_checks(record, emulator=False)
    assert not check.ok and "https" in check.detail


def test_basic_display_scope(meta: RunningEmulator) -> None:
    """A retired Basic Display scope is named with its replacement and the migration."""
    add_app("old", scopes=("user_profile", "instagram_business_basic"))
    code, body = run_doctor("--app", "old")
    assert code == 1
    failed = failures(body)["scope"]
    assert failed["subject"] == "user_profile"
    assert "instagram_business_basic" in failed["fix"] and "Basic Display was shut down" in failed["fix"]


def test_facebook_login_name_on_instagram_login_app(meta: RunningEmulator) -> None:
    """A Facebook Login permission name on an Instagram Login app is named with the Instagram Login name."""
    add_app("fbnames", scopes=("instagram_basic",))
    code, body = run_doctor("--app", "fbnames")
    assert code == 1
    assert "instagram_business_basic" in failures(body)["scope"]["fix"]


def test_instagram_name_on_facebook_login_app(meta: RunningEmulator) -> None:
    """An instagram_business_* name on a Facebook Login app is named with the Facebook Login name."""
    add_app(
        "fbapp",
        app_id=demo.DEMO_FB_APP_ID,
        secret=demo.DEMO_FB_APP_SECRET,
        scopes=("instagram_business_basic",),
        flow=FlowKind.FACEBOOK_LOGIN,
    )
    code, body = run_doctor("--app", "fbapp")
    assert code == 1
    assert "instagram_basic" in failures(body)["scope"]["fix"]
    assert {c["name"]: c["ok"] for c in body["checks"]}["app id and secret"] is True


def test_revoked_token(registered: str, emulator: RunningEmulator) -> None:
    """A token Meta refuses fails the token check with the login command."""
    seed_account(emulator, age=timedelta(days=1), due=False)
    for token in list(emulator.world.tokens.values()):
        emulator.world.revoke_token(token.value)
    code, body = run_doctor("demo_business")
    assert code == 1
    assert "igtoken login --app shop" in failures(body)["token"]["fix"]


def test_personal_account(registered: str, emulator: RunningEmulator) -> None:
    """A personal account is told to switch to Business or Creator."""
    seed_account(emulator, age=timedelta(days=1), due=False, username="demo_personal")
    code, body = run_doctor("demo_personal")
    assert code == 1
    assert "Switch to professional account" in failures(body)["account type"]["fix"]


def test_missing_permission(registered: str, emulator: RunningEmulator) -> None:
    """The app asks for content publishing; the account granted only basic: named, with the fixing login."""
    context = AppContext()
    context.vault.update_app(
        "shop",
        now=context.now(),
        default_scopes=["instagram_business_basic", "instagram_business_content_publish"],
    )
    context.close()
    seed_account(emulator, age=timedelta(days=1), due=False)
    code, body = run_doctor("demo_business")
    assert code == 1
    failed = failures(body)["permissions"]
    assert "instagram_business_content_publish" in failed["detail"]
    assert "--scope instagram_business_content_publish" in failed["fix"]


def test_expiry_soon(registered: str, emulator: RunningEmulator) -> None:
    """A token with days left is reported with its expiry and last refresh."""
    seed_account(emulator, age=timedelta(days=55), due=False)
    code, body = run_doctor("demo_business")
    assert code == 1
    failed = failures(body)["expiry"]
    assert "expires in 5" in failed["detail"] and "never refreshed" in failed["detail"]


def test_usage_high(registered: str, emulator: RunningEmulator) -> None:
    """Meta's usage header near the limit is reported with its percentage."""
    emulator.world.update_app(demo.DEMO_IG_APP_ID, call_limit_per_hour=1)
    seed_account(emulator, age=timedelta(days=1), due=False)
    code, body = run_doctor("demo_business")
    assert code == 1
    assert "% of Meta's rate limit" in failures(body)["Meta usage"]["detail"]


def test_audit_permissions_suggests_drops(
    registered: str, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Granted but never requested permissions are listed to drop; --json has the documented shape."""
    seed_account(
        emulator,
        age=timedelta(days=1),
        due=False,
        scopes=("instagram_business_basic", "instagram_business_manage_messages"),
    )
    result = invoke(["audit-permissions", "--json"])
    (row,) = json.loads(result.stdout)["accounts"]
    assert set(row) == {"account", "account_id", "app", "granted", "used", "unused", "missing"}
    assert row["unused"] == ["instagram_business_manage_messages"] and row["missing"] == []
    monkeypatch.setenv("COLUMNS", "200")
    text = invoke(["audit-permissions"])
    assert "instagram_business_manage_messages" in text.stdout and "re-authorize" in text.stderr


def test_meta_unreachable_is_a_failed_check_not_a_crash(
    registered: str, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With Meta out of reach, doctor still runs the local checks and names the cause; exit 1."""
    import socket

    seed_account(emulator, age=timedelta(days=1), due=False)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("IGTOKEN_META_BASE_URL", f"http://127.0.0.1:{port}")
    result = invoke(["doctor", "--json"])
    body = json.loads(result.stdout)
    assert result.exit_code == 1
    assert "unexpected" not in result.stdout + result.stderr
    unreachable = [c for c in body["checks"] if c["name"] == "Meta reachable"]
    assert unreachable and "ConnectError" in unreachable[0]["detail"]
    assert "scopes" in {c["name"] for c in body["checks"] if c["ok"]}
    assert len(unreachable) == 2  # the app's checks and the account's


def test_a_throttled_account_is_reported_as_throttled(registered: str, emulator: RunningEmulator) -> None:
    """Meta throttling /me is a wait, not a dead token: no login command is offered."""
    seed_account(emulator, age=timedelta(days=1), due=False)
    emulator.world.faults.add("ig_me", "throttle", wait_minutes=3)
    code, body = run_doctor("demo_business")
    assert code == 1
    failed = failures(body)
    assert "token" not in failed
    assert "throttling" in failed["Meta usage"]["detail"] and "180 s" in failed["Meta usage"]["detail"]
    assert "login" not in failed["Meta usage"]["fix"]
