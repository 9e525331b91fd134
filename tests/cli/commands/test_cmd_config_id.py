"""Issue 20: Facebook Login for Business configurations (``config_id``) in `apps add/update` and
`login`; scope names checked per login product in `apps add`/`update`; `doctor --app` checks a
Facebook Login app's redirect URIs against the Facebook dialog ("URL blocked")."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result

from igtoken.cli import main
from igtoken.emulator import demo
from igtoken.testing import RunningEmulator

FB_URI = "https://tokens.example.com/oauth/callback"


def run(args: list[str]) -> Result:
    return CliRunner().invoke(main, args, catch_exceptions=False)


@pytest.fixture
def fb_env(emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> RunningEmulator:
    """IGTOKEN_META_BASE_URL points at the loopback emulator; the demo Facebook app's secret is in $FB_SECRET
    and ``FB_URI`` is registered with it."""
    emulator.world.update_app(demo.DEMO_FB_APP_ID, add_redirect_uris=[FB_URI])
    monkeypatch.setenv("IGTOKEN_META_BASE_URL", emulator.url)
    monkeypatch.setenv("FB_SECRET", demo.DEMO_FB_APP_SECRET)
    monkeypatch.setenv("IG_SECRET", demo.DEMO_IG_APP_SECRET)
    return emulator


def add_fb(*extra: str, uri: str = FB_URI) -> Result:
    return run(
        [
            "--json", "apps", "add", "fb", "--flow", "facebook_login", "--app-id", demo.DEMO_FB_APP_ID,
            "--redirect-uri", uri, "--secret-env", "FB_SECRET", *extra,
        ]
    )  # fmt: skip


def error_of(result: Result) -> dict:
    return json.loads(result.stdout)["error"]


def test_apps_add_and_update_keep_the_config_id(fb_env: RunningEmulator) -> None:
    added = add_fb("--config-id", demo.DEMO_FB_CONFIG_ID)
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["config_id"] == demo.DEMO_FB_CONFIG_ID
    listed = json.loads(run(["--json", "apps", "list"]).stdout)["apps"]
    assert listed[0]["config_id"] == demo.DEMO_FB_CONFIG_ID
    changed = run(["--json", "apps", "update", "fb", "--config-id", "123456"])
    assert changed.exit_code == 0 and json.loads(changed.stdout)["config_id"] == "123456"
    dropped = run(["--json", "apps", "update", "fb", "--remove-config-id"])
    assert dropped.exit_code == 0 and json.loads(dropped.stdout)["config_id"] is None
    both = run(["apps", "update", "fb", "--config-id", "1", "--remove-config-id"])
    assert both.exit_code == 2


def test_config_id_must_be_digits_and_only_for_facebook_login(fb_env: RunningEmulator) -> None:
    bad = add_fb("--config-id", "cfg-1")
    assert bad.exit_code == 6 and "numeric id" in error_of(bad)["message"]
    ig = run(
        [
            "--json", "apps", "add", "shop", "--app-id", demo.DEMO_IG_APP_ID, "--redirect-uri", FB_URI,
            "--secret-env", "IG_SECRET", "--config-id", "123",
        ]
    )  # fmt: skip
    assert ig.exit_code == 6
    assert "Facebook Login for Business" in error_of(ig)["message"]
    assert "--flow facebook_login" in error_of(ig)["fix"]


def test_scope_names_are_checked_per_flow_in_apps_add_and_update(fb_env: RunningEmulator) -> None:
    """An Instagram Login name on a Facebook Login app (and the reverse) is refused with the name to use."""
    wrong = add_fb("--scope", "instagram_business_basic")
    assert wrong.exit_code == 6, wrong.output
    error = error_of(wrong)
    assert "instagram_business_basic" in error["message"] and "Facebook Login" in error["message"]
    assert "'instagram_basic'" in error["fix"] and "--flow instagram_login" in error["fix"]
    assert json.loads(run(["--json", "apps", "list"]).stdout)["apps"] == []
    reverse = run(
        [
            "--json", "apps", "add", "shop", "--app-id", demo.DEMO_IG_APP_ID, "--redirect-uri", FB_URI,
            "--secret-env", "IG_SECRET", "--scope", "instagram_basic",
        ]
    )  # fmt: skip
    assert reverse.exit_code == 6
    assert "'instagram_business_basic'" in error_of(reverse)["fix"]
    assert "--flow facebook_login" in error_of(reverse)["fix"]
    ok = add_fb("--scope", "instagram_basic", "--scope", "pages_show_list")
    assert ok.exit_code == 0, ok.output
    update = run(["--json", "apps", "update", "fb", "--add-scope", "instagram_business_content_publish"])
    assert update.exit_code == 6 and "'instagram_content_publish'" in error_of(update)["fix"]


def test_doctor_app_finds_a_facebook_redirect_uri_meta_blocks(fb_env: RunningEmulator) -> None:
    """A redirect URI the Meta app has not registered fails with "URL blocked" (and the near miss
    Meta would take); a registered one passes; an unknown configuration fails too."""
    near_miss = FB_URI + "/"
    assert add_fb(uri=near_miss).exit_code == 0
    for uri in ("https://elsewhere.example/cb", FB_URI):
        assert run(["apps", "update", "fb", "--add-redirect-uri", uri]).exit_code == 0
    assert run(["apps", "update", "fb", "--config-id", "111"]).exit_code == 0
    doctor = run(["--json", "doctor", "--app", "fb"])
    assert doctor.exit_code == 1
    checks = json.loads(doctor.stdout)["checks"]
    by_subject = {(c["name"], c["subject"]): c for c in checks}
    slash = by_subject[("redirect URI", near_miss)]
    assert not slash["ok"] and "URL blocked" in slash["detail"]
    assert repr(FB_URI) in slash["fix"]  # the one Meta has registered
    other = by_subject[("redirect URI", "https://elsewhere.example/cb")]
    assert not other["ok"] and "Valid OAuth Redirect URIs" in other["fix"]
    assert by_subject[("redirect URI", FB_URI)]["ok"]
    config = by_subject[("config id", "111")]  # checked with the redirect URI the dialog accepts
    assert not config["ok"] and "apps update fb --config-id" in config["fix"]
    # Fixed: the registered URI alone, and the app's real configuration.
    fixed = run(["apps", "update", "fb", "--redirect-uri", FB_URI, "--config-id", demo.DEMO_FB_CONFIG_ID])
    assert fixed.exit_code == 0, fixed.output
    healthy = run(["--json", "doctor", "--app", "fb"])
    assert healthy.exit_code == 0, healthy.stdout
    names = [c["name"] for c in json.loads(healthy.stdout)["checks"]]
    assert "redirect URI" in names and "config id" in names


def test_login_opens_the_dialog_with_the_apps_configuration() -> None:
    """With a config id on the app, `login` opens the dialog with it (the sandbox dialog refuses an
    unknown one with its own page, not a wrong-account hint); `--scope` sends scopes instead."""
    args = ["login", "--sandbox", "--app", "demo-facebook", "--no-browser"]
    assert run([*args, "--json"]).exit_code == 0
    assert run(["--sandbox", "apps", "update", "demo-facebook", "--config-id", "555"]).exit_code == 0
    refused = run(args)
    assert refused.exit_code == 6
    assert "Invalid Configuration" in refused.stderr and "555" in refused.stderr
    scoped = run([*args, "--json", "--scope", "instagram_basic", "--scope", "pages_show_list"])
    assert scoped.exit_code == 0, scoped.output  # scopes instead of the (bad) configuration
    good = run(["--sandbox", "apps", "update", "demo-facebook", "--config-id", demo.DEMO_FB_CONFIG_ID])
    assert good.exit_code == 0, good.output
    login = run([*args, "--json"])
    assert login.exit_code == 0, login.output
    assert [a["username"] for a in json.loads(login.stdout)["accounts"]] == [demo.DEMO_BUSINESS]
    explicit = run([*args, "--config-id", "556"])
    assert explicit.exit_code == 6 and "556" in explicit.stderr
    assert run([*args, "--config-id", "1", "--scope", "instagram_basic"]).exit_code == 2
    assert run(["login", "--sandbox", "--no-browser", "--config-id", "555"]).exit_code == 2  # Instagram app
