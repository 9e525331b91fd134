"""`db upgrade` says from which revision to which; `config show` names each value's real source and
shows lists plainly (issue 22)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from igtoken.cli import main
from igtoken.vault import migrate
from igtoken.vault.crypto import generate_key_material


def run(args: list[str], env: dict[str, str]):
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def test_db_upgrade_says_from_which_revision_to_which(tmp_path):
    url = f"sqlite:///{tmp_path / 'v.db'}"
    env = {"IGTOKEN_DATABASE_URL": url, "IGTOKEN_KEYS": f"k1:{generate_key_material().reveal()}"}
    head = migrate.head_revision()
    created = run(["db", "upgrade"], env)
    assert created.exit_code == 0, created.output
    assert f"created the schema at revision {head}" in created.output
    again = run(["db", "upgrade"], env)
    assert f"is already at the newest schema ({head}); nothing to do" in again.output
    migrate.downgrade(url, "0003")
    upgraded = run(["db", "upgrade"], env)
    assert f"upgraded from revision 0003 to {head}" in upgraded.output
    migrate.downgrade(url, "0003")
    report = json.loads(run(["db", "upgrade", "--json"], env).output)
    assert report["from_revision"] == "0003" and report["revision"] == head and report["upgraded"] is True
    report = json.loads(run(["db", "upgrade", "--json"], env).output)
    assert report["from_revision"] == head and report["upgraded"] is False


def test_db_upgrade_of_the_embedded_default_reports_its_revision(tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    head = migrate.head_revision()
    first = run(["db", "upgrade"], env)
    assert first.exit_code == 0, first.output
    assert f"created the schema at revision {head}" in first.output
    assert "already at the newest schema" in run(["db", "upgrade"], env).output


def rows_of(output: str) -> dict[str, dict[str, str]]:
    return json.loads(output)["settings"]


def test_config_show_names_the_real_source_of_the_keys_and_plain_lists(tmp_path):
    env = {
        "IGTOKEN_KEYS": f"k1:{generate_key_material().reveal()}",
        "IGTOKEN_WEBHOOK_URLS": "https://a.example/hook, https://b.example/hook",
        "IGTOKEN_WEBHOOK_SECRET": "a-webhook-secret-that-is-long-enough-0123",
        "IGTOKEN_TRUSTED_PROXIES": "10.0.0.5,10.0.1.0/24",
        "IGTOKEN_RATE_LIMIT_PUBLIC": "120:40",
        "IGTOKEN_RATE_LIMIT_SIGNIN": "6",
    }
    rows = rows_of(run(["config", "show", "--json"], env).output)
    assert rows["IGTOKEN_KEYS"] == {"value": "(set, hidden)", "source": "environment"}
    assert rows["IGTOKEN_KEY_FILE"]["source"] == "unused"
    assert rows["IGTOKEN_KEY_FILE"]["value"].startswith("(not used: IGTOKEN_KEYS is set)")
    assert rows["IGTOKEN_WEBHOOK_URLS"]["value"] == "https://a.example/hook, https://b.example/hook"
    assert rows["IGTOKEN_TRUSTED_PROXIES"]["value"] == "10.0.0.5, 10.0.1.0/24"
    assert rows["IGTOKEN_RATE_LIMIT_PUBLIC"] == {"value": "120/min, burst 40", "source": "environment"}
    assert rows["IGTOKEN_RATE_LIMIT_SIGNIN"]["value"] == "6/min, burst 2"
    assert rows["IGTOKEN_RATE_LIMIT_API"] == {"value": "(not set)", "source": "default"}
    assert rows["IGTOKEN_WORKER_MAX_OUTAGE"] == {"value": "300.0", "source": "default"}
    assert rows["IGTOKEN_SESSION_SECRET"] == {"value": "(not set)", "source": "default"}
    table = run(["config", "show"], env).output
    assert "('" not in table  # no Python tuples


def test_config_show_with_a_key_file(tmp_path):
    rows = rows_of(run(["config", "show", "--json"], {"IGTOKEN_KEY_FILE": str(tmp_path / "k.json")}).output)
    assert rows["IGTOKEN_KEY_FILE"] == {"value": str(tmp_path / "k.json"), "source": "environment"}
    assert rows["IGTOKEN_KEYS"] == {"value": "(not set)", "source": "default"}


def test_bad_rate_limits_are_refused():
    result = CliRunner().invoke(main, ["config", "show"], env={"IGTOKEN_RATE_LIMIT_API": "fast"})
    assert result.exit_code == 6
    assert "IGTOKEN_RATE_LIMIT_API must be requests per minute" in result.output
