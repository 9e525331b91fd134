"""token, apps, accounts, events, apikeys, keys and db upgrade, with their --json shapes."""

from __future__ import annotations

import json
from datetime import timedelta

from igtoken.emulator import demo
from igtoken.testing import RunningEmulator
from tests.support.cli import invoke, seed_account

APP_KEYS = {
    "id", "name", "flow", "app_id", "instagram_app_id", "meta_app_id", "redirect_uris",
    "default_scopes", "has_meta_app_secret", "created_at", "updated_at",
}  # fmt: skip
ACCOUNT_KEYS = {
    "id", "username", "ig_user_id", "app_scoped_id", "app", "account_type", "status",
    "status_reason", "scopes", "connected_at", "token", "page", "data_access_expires_at",
}  # fmt: skip
TOKEN_KEYS = {
    "kind", "issued_at", "expires_at", "days_left", "last_refreshed_at", "next_refresh_at",
    "failure_count", "last_error",
}  # fmt: skip


def test_apps_json_shape_and_remove(registered: str) -> None:
    """apps list --json has the documented keys and never a secret; remove takes it away."""
    body = json.loads(invoke(["apps", "list", "--json"]).stdout)
    (app,) = body["apps"]
    assert set(app) == APP_KEYS
    assert app["redirect_uris"] == [registered]
    assert demo.DEMO_IG_APP_SECRET not in json.dumps(body)
    assert invoke(["apps", "remove", "shop", "--yes"]).exit_code == 0
    assert json.loads(invoke(["apps", "list", "--json"]).stdout) == {"apps": []}


def test_apps_add_takes_no_secret_argument_and_checks_input(registered: str, tmp_path) -> None:
    """There is no option to pass the secret itself; an empty secret file and a bad scope are refused."""
    assert (
        invoke(
            ["apps", "add", "x", "--app-id", "1", "--redirect-uri", "http://127.0.0.1:1/cb", "--secret", "s"]
        ).exit_code
        == 2
    )
    empty = tmp_path / "empty"
    empty.write_text("\n")
    result = invoke(
        [
            "apps",
            "add",
            "x",
            "--app-id",
            "1",
            "--redirect-uri",
            "https://a.test/cb",
            "--secret-file",
            str(empty),
        ]
    )
    assert result.exit_code == 6 and "empty" in result.stderr
    result = invoke(
        [
            "apps",
            "add",
            "x",
            "--app-id",
            "1",
            "--redirect-uri",
            "https://a.test/cb",
            "--scope",
            "user_profile",
        ],
        input="s3cret\n",
    )
    assert result.exit_code == 6 and "Basic Display" in result.stderr


def test_token_refreshes_when_due(registered: str, emulator: RunningEmulator) -> None:
    """A due token is refreshed first; the new one is printed, stored, and the event recorded."""
    account_id = seed_account(emulator, age=timedelta(days=8))
    old = invoke(["accounts", "show", "--show-token", "--json"])
    old_value = json.loads(old.stdout)["token"]["value"]
    result = invoke(["token", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["refreshed"] is True and body["account"]["id"] == account_id
    assert body["access_token"] != old_value
    assert invoke(["token"]).stdout.strip() == body["access_token"]  # not due any more: same token
    events = json.loads(invoke(["events", "--json", "--type", "refreshed"]).stdout)["events"]
    assert [e["type"] for e in events] == ["refreshed"]
    assert body["access_token"] not in json.dumps(events)


def test_token_expired_exits_3_with_login_command(registered: str, emulator: RunningEmulator) -> None:
    """An expired token cannot be refreshed: exit 3, and the message names the re-authorization command."""
    seed_account(emulator, age=timedelta(days=61))
    result = invoke(["token"])
    assert result.exit_code == 3
    assert "igtoken login --app shop" in result.stderr


def test_token_revoked_marks_needs_reauth(registered: str, emulator: RunningEmulator) -> None:
    """Meta refusing the token (190) on refresh marks the account needs_reauth; later calls exit 3 at once."""
    seed_account(emulator, age=timedelta(days=8))
    for token in list(emulator.world.tokens.values()):
        emulator.world.revoke_token(token.value)
    assert invoke(["token"]).exit_code == 3
    accounts = json.loads(invoke(["accounts", "list", "--json"]).stdout)["accounts"]
    assert accounts[0]["status"] == "needs_reauth"
    again = invoke(["token"])
    assert again.exit_code == 3 and "igtoken login --app shop" in again.stderr


def test_token_picks_only_account_or_lists_choices(registered: str, emulator: RunningEmulator) -> None:
    """Without ACCOUNT: the only account, or an error listing them all."""
    seed_account(emulator, age=timedelta(hours=1), due=False)
    assert invoke(["token"]).exit_code == 0
    seed_account(emulator, age=timedelta(hours=1), username="demo_creator", due=False)
    result = invoke(["token"])
    assert result.exit_code == 2  # usage: say which
    assert "@demo_business" in result.stderr and "@demo_creator" in result.stderr
    assert invoke(["token", "@demo_creator"]).exit_code == 0
    missing = invoke(["token", "nobody"])
    assert missing.exit_code == 5 and "accounts list" in missing.stderr


def test_accounts_json_shapes_and_remove(registered: str, emulator: RunningEmulator) -> None:
    """accounts list/show --json follow the documented shape; tokens are masked; remove deletes."""
    seed_account(emulator, age=timedelta(days=2), due=False)
    (account,) = json.loads(invoke(["accounts", "list", "--json"]).stdout)["accounts"]
    assert set(account) == ACCOUNT_KEYS and set(account["token"]) == TOKEN_KEYS
    assert 57 < account["token"]["days_left"] <= 58
    shown = json.loads(invoke(["accounts", "show", "demo_business", "--json"]).stdout)
    assert "…" in shown["token"]["value"] and len(shown["history"]) == 1
    table = invoke(["accounts", "list"]).stdout
    assert "@demo_bus" in table and "active" in table
    assert invoke(["accounts", "remove", "demo_business", "--yes"]).exit_code == 0
    assert json.loads(invoke(["accounts", "list", "--json"]).stdout) == {"accounts": []}


def test_apikeys_create_list_revoke(registered: str) -> None:
    """A key is shown once at creation; list shows its prefix only; revoke marks it."""
    created = json.loads(invoke(["apikeys", "create", "cron", "--json"]).stdout)
    assert created["key"].startswith(created["prefix"] + "_")
    listed = json.loads(invoke(["apikeys", "list", "--json"]).stdout)["apikeys"]
    assert [k["prefix"] for k in listed] == [created["prefix"]]
    assert created["key"] not in json.dumps(listed)
    revoked = json.loads(invoke(["apikeys", "revoke", created["prefix"], "--json"]).stdout)
    assert revoked["revoked_at"] is not None


def test_keys_status_rotate_and_db_upgrade(registered: str, emulator: RunningEmulator) -> None:
    """keys status counts sealed rows per key; rotate re-encrypts; db upgrade reports the head revision."""
    seed_account(emulator, age=timedelta(days=1), due=False)
    status = json.loads(invoke(["keys", "status", "--json"]).stdout)
    assert sum(k["tokens"] for k in status["keys"]) == 1
    rotated = json.loads(invoke(["keys", "rotate", "--json"]).stdout)
    assert rotated["previous_key_id"] == status["active_key_id"] != rotated["key_id"]  # a new key
    upgraded = json.loads(invoke(["db", "upgrade", "--json"]).stdout)
    assert upgraded["revision"] == upgraded["head"]


def test_every_command_has_help_with_examples() -> None:
    """--help of every command and subcommand shows an Examples section."""
    from igtoken.cli import main

    names = ["apps", "login", "token", "accounts", "events", "apikeys", "keys", "db"]
    for name in names:
        command = main.commands[name]
        subs = getattr(command, "commands", {})
        for path in [[name]] + [[name, sub] for sub in subs]:
            result = invoke([*path, "--help"])
            assert result.exit_code == 0
            assert "Examples:" in result.stdout, path
