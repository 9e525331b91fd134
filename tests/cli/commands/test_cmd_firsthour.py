"""What a newcomer meets first: exit codes, global flags after the command, --app, hints, 80 columns."""

from __future__ import annotations

import json
import re
import shlex

import pytest

from igtoken.emulator import demo
from tests.support.cli import invoke


def run_hint(line: str) -> str:
    """Run the command a ``Next: …`` line names, exactly as printed; returns its stdout."""
    command = line.removeprefix("Next:").split("   ", 1)[0].strip()
    argv = shlex.split(command)
    assert argv[0] == "igtoken", line
    result = invoke(argv[1:])
    assert result.exit_code == 0, f"{command!r} → {result.exit_code}: {result.stderr}"
    return result.stdout


def next_line(output: str) -> str:
    (line,) = [x for x in output.splitlines() if x.startswith("Next:")]
    return line


def test_nothing_connected_needs_login_exit_3() -> None:
    """No account yet: exit 3 (needs login) with the login command, global flag before or after."""
    for args in (["--sandbox", "token"], ["token", "--sandbox"]):
        result = invoke(args)
        assert result.exit_code == 3, result.stderr
        assert "no Instagram account is connected yet" in result.stderr
        assert "igtoken login --sandbox" in result.stderr
    as_json = invoke(["token", "--sandbox", "--json"])
    assert as_json.exit_code == 3
    assert json.loads(as_json.stdout)["error"]["type"] == "NotConnectedError"


def test_usage_errors_are_error_fix_pairs() -> None:
    """click's usage errors print the same two lines as every other failure (exit 2), or JSON."""
    for args, where in (
        (["--bogus"], "igtoken --help"),
        (["token", "--bogus"], "igtoken token --help"),
        (["accounts", "show", "a", "b"], "igtoken accounts show --help"),
    ):
        result = invoke(args)
        assert result.exit_code == 2
        lines = result.stderr.splitlines()
        assert lines[0].startswith("error: ") and lines[1] == f"fix: see `{where}`", result.stderr
        assert "Usage:" not in result.stderr and "Error:" not in result.stderr
    for args in (["--json", "--bogus"], ["token", "--json", "--bogus"]):
        result = invoke(args)
        assert result.exit_code == 2
        assert json.loads(result.stdout)["error"]["exit_code"] == 2


def test_global_flags_after_the_command() -> None:
    """--sandbox, --json, -v and --env-file work after the command name too."""
    assert invoke(["login", "--no-browser", "--sandbox"]).exit_code == 0
    assert invoke(["token", "--sandbox"]).stdout.startswith("IGAA")
    body = json.loads(invoke(["accounts", "list", "--sandbox", "--json"]).stdout)
    assert [a["username"] for a in body["accounts"]] == [demo.DEMO_BUSINESS]
    verbose = invoke(["token", "--sandbox", "-v"])
    assert verbose.exit_code == 0 and verbose.stdout.startswith("IGAA")
    with open("other.env", "w", encoding="utf-8") as fh:
        fh.write("IGTOKEN_PORT=8123\n")
    shown = json.loads(invoke(["config", "show", "--json", "--env-file", "other.env"]).stdout)
    assert "8123" in json.dumps(shown)


def test_ambiguous_account_is_usage_and_app_settles_it() -> None:
    """After Instagram and Facebook sandbox logins the same @name is two accounts: exit 2 listing
    both, `--app` picks one; every Next: hint printed works as printed."""
    first = invoke(["login", "--sandbox", "--no-browser"])
    assert first.exit_code == 0, first.stderr
    assert next_line(first.stdout).startswith("Next: igtoken --sandbox token ")
    assert run_hint(next_line(first.stdout)).startswith("IGAA")
    second = invoke(["login", "--sandbox", "--app", "demo-facebook", "--no-browser"])
    assert second.exit_code == 0, second.stderr
    hint = next_line(second.stdout)
    assert hint == "Next: igtoken --sandbox token demo_business --app demo-facebook"
    assert run_hint(hint).startswith("EAA")
    # The first hint no longer names one account: a new login says more.
    again = invoke(["login", "--sandbox", "--no-browser"])
    assert next_line(again.stdout).startswith("Next: igtoken --sandbox token demo_business --app demo ")
    assert run_hint(next_line(again.stdout)).startswith("IGAA")

    ambiguous = invoke(["--sandbox", "token", "demo_business"])
    assert ambiguous.exit_code == 2
    assert "(demo, active)" in ambiguous.stderr and "(demo-facebook, active)" in ambiguous.stderr
    assert "`igtoken --sandbox token demo_business --app demo`" in ambiguous.stderr
    none_given = invoke(["--sandbox", "token"])
    assert none_given.exit_code == 2 and "say which one" in none_given.stderr

    assert invoke(["--sandbox", "token", "demo_business", "--app", "demo"]).stdout.startswith("IGAA")
    assert invoke(["token", "demo_business", "--sandbox", "--app", "demo-facebook"]).stdout.startswith("EAA")
    shown = json.loads(
        invoke(["--sandbox", "accounts", "show", "demo_business", "--app", "demo", "--json"]).stdout
    )
    assert shown["app"] == "demo"
    assert invoke(["--sandbox", "accounts", "show", "demo_business"]).exit_code == 2
    dry = invoke(["--sandbox", "refresh", "demo_business", "--app", "demo-facebook", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.stderr
    (row,) = json.loads(dry.stdout)["plan"]
    assert row["kind"].startswith("fb_")  # only the Facebook Login account
    only = invoke(["--sandbox", "refresh", "--all", "--app", "demo-facebook", "--json"])
    assert only.exit_code == 0, only.stderr
    fb_id = json.loads(
        invoke(["--sandbox", "accounts", "show", "demo_business", "--app", "demo-facebook", "--json"]).stdout
    )["id"]
    assert [r["account_id"] for r in json.loads(only.stdout)["results"]] == [fb_id]
    events = json.loads(invoke(["--sandbox", "events", "demo_business", "--app", "demo", "--json"]).stdout)
    assert {e["app"] for e in events["events"]} == {"demo"}
    assert invoke(["--sandbox", "events", "demo_business"]).exit_code == 2
    key = invoke(["--sandbox", "apikeys", "create", "k", "--account", "demo_business"])
    assert key.exit_code == 2 and "pass the account id instead" in key.stderr
    unknown = invoke(["--sandbox", "token", "demo_business", "--app", "nope"])
    assert unknown.exit_code == 5 and "nope" in unknown.stderr


@pytest.mark.parametrize(
    ("args", "whole"),
    [
        (["accounts", "list"], ["@demo_business", "demo-facebook"]),
        (
            ["events"],
            ["@demo_business", "reconnected=False", "kind=fb_page,", "(demo-facebook)", "reader=cli"],
        ),
        (["apps", "list"], ["demo-facebook", "http://127.0.0.1:8765/callback", "990600000000001"]),
        (
            ["accounts", "show", "demo_business", "--app", "demo-facebook"],
            ["@demo_business", "instagram_basic,"],
        ),
        (["audit-permissions"], ["@demo_business", "(demo-facebook)", "pages_read_engagement"]),
        (["keys", "status"], ["Configured"]),
        (["refresh", "--all", "--dry-run"], ["demo_business", "scheduled"]),
    ],
)
def test_tables_at_80_columns_keep_words_whole(
    args: list[str], whole: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 80 columns no line is wider and no username, app name, id, URI or key=value is split."""
    assert invoke(["login", "--sandbox", "--no-browser"]).exit_code == 0
    assert invoke(["login", "--sandbox", "--app", "demo-facebook", "--no-browser"]).exit_code == 0
    assert invoke(["--sandbox", "token", "demo_business", "--app", "demo"]).exit_code == 0  # token_read
    monkeypatch.setenv("COLUMNS", "80")
    result = invoke(["--sandbox", *args])
    assert result.exit_code == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if re.search("[│┃━]", line)]  # the table
    assert lines and all(len(line) <= 80 for line in lines), result.stdout
    words = {word for line in lines for cell in re.split(r"[│┃]", line) for word in cell.split()}
    missing = [w for w in whole if w not in words]
    assert not missing, f"split or missing: {missing}\n{result.stdout}"
    ids = re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", result.stdout)
    if "show" in args:
        assert ids, result.stdout  # the account id is on one line
