"""Issue 20 in the CLI: a token Meta calls dead, seen by `token`, `refresh` or `doctor`, marks the account
needs_reauth at once (event with the absolute link when a public URL is set), and from then on
`igtoken token` and `igtoken refresh ACCOUNT` exit 3 with the login command and that link. Throttles
never do. `refresh ACCOUNT` on a Facebook Login account always works on the page token."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner, Result

from igtoken.cli import main
from igtoken.cli._context import AppContext
from igtoken.emulator import demo
from igtoken.testing import RunningEmulator
from tests.support.cli import seed_account

PUBLIC = "https://tokens.example"


def run(args: list[str]) -> Result:
    return CliRunner().invoke(main, args, catch_exceptions=False)


def seed_due_account(emulator: RunningEmulator) -> str:
    """An account of app 'shop' (the `registered` fixture's) whose 8-day-old token is due for refresh."""
    return seed_account(emulator, age=timedelta(days=8))


def account_state(account_id: str) -> tuple[str, list[dict[str, Any]]]:
    context = AppContext()
    try:
        status = context.vault.get_account(account_id).status.value
        events = [e.data for e in context.vault.events(account_id=account_id, types=["needs_reauth"])]
    finally:
        context.close()
    return status, events


@pytest.fixture
def public_url(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("IGTOKEN_PUBLIC_URL", PUBLIC)
    return PUBLIC


def test_token_after_password_change_marks_and_exits_3_with_the_link(
    registered: str, emulator: RunningEmulator, public_url: str
) -> None:
    account_id = seed_due_account(emulator)
    emulator.world.change_password("demo_business")
    first = run(["token"])
    assert first.exit_code == 3, first.output
    assert "460" in first.stderr and "igtoken login --app shop" in first.stderr
    status, events = account_state(account_id)
    assert status == "needs_reauth"
    (event,) = events
    link = event["reauthorize_url"]
    assert link.startswith(f"{PUBLIC}/connect/")
    assert link in first.stderr
    calls = len(emulator.world.log.entries(endpoint="ig_refresh_token"))
    again = run(["token"])
    assert again.exit_code == 3 and "needs_reauth" in again.stderr
    assert link in again.stderr and "igtoken login --app shop" in again.stderr
    assert len(emulator.world.log.entries(endpoint="ig_refresh_token")) == calls  # Meta not asked again


def test_refresh_account_after_password_change_exits_3(
    registered: str, emulator: RunningEmulator, public_url: str
) -> None:
    account_id = seed_due_account(emulator)
    emulator.world.change_password("demo_business")
    result = run(["refresh", "demo_business"])
    assert result.exit_code == 3, result.output
    assert "needs re-authorization" in result.stdout
    assert "igtoken login --app shop" in result.stderr
    status, (event,) = account_state(account_id)
    assert status == "needs_reauth" and event["reauthorize_url"] in result.stderr
    # From then on: exit 3 (not "unexpected error" 1), for refresh and token alike.
    again = run(["refresh", "demo_business"])
    assert again.exit_code == 3 and event["reauthorize_url"] in again.stderr
    as_json = run(["--json", "refresh", "demo_business"])
    assert as_json.exit_code == 3
    assert json.loads(as_json.stdout)["error"]["exit_code"] == 3
    assert run(["token"]).exit_code == 3


def test_refresh_json_reports_the_outcome_and_exits_3(registered: str, emulator: RunningEmulator) -> None:
    seed_due_account(emulator)
    emulator.world.change_password("demo_business")
    result = run(["--json", "refresh", "demo_business"])
    assert result.exit_code == 3, result.output
    (one,) = json.loads(result.stdout)["results"]
    assert one["outcome"] == "needs_reauth"


def test_doctor_marks_a_dead_instagram_token(
    registered: str, emulator: RunningEmulator, public_url: str
) -> None:
    """doctor's own `/me` call gets 190/460: the check fails, says the account is now marked, with the
    link; `igtoken token` then exits 3."""
    account_id = seed_due_account(emulator)
    emulator.world.change_password("demo_business")
    doctor = run(["--json", "doctor"])
    assert doctor.exit_code == 1
    failed = {c["name"]: c for c in json.loads(doctor.stdout)["checks"] if not c["ok"]}
    assert "460" in failed["token"]["detail"] and "needing re-authorization" in failed["token"]["detail"]
    status, (event,) = account_state(account_id)
    assert status == "needs_reauth" and event["source"] == "doctor"
    assert event["reauthorize_url"] in failed["token"]["fix"]
    assert run(["token"]).exit_code == 3


def test_doctor_throttled_leaves_the_account_active(registered: str, emulator: RunningEmulator) -> None:
    account_id = seed_due_account(emulator)
    emulator.world.faults.add("ig_me", "throttle", wait_minutes=2, times=1)
    doctor = run(["--json", "doctor"])
    assert doctor.exit_code == 1
    failed = {c["name"]: c for c in json.loads(doctor.stdout)["checks"] if not c["ok"]}
    assert "throttling" in failed["Meta usage"]["detail"] and "token" not in failed
    assert account_state(account_id) == ("active", [])


def test_refresh_on_a_facebook_login_account_checks_the_page_token_every_time() -> None:
    """Both tokens of a Facebook Login account carry one issue time: `refresh ACCOUNT` (and its dry run)
    must pick the page token every time, never the user token."""
    login = run(["login", "--sandbox", "--app", "demo-facebook", "--no-browser", "--json"])
    assert login.exit_code == 0, login.output
    for _ in range(6):
        args = ["--sandbox", "--json", "refresh", demo.DEMO_BUSINESS, "--app", "demo-facebook"]
        forced = run([*args, "--force"])
        assert forced.exit_code == 0, forced.output
        (one,) = json.loads(forced.stdout)["results"]
        assert one["outcome"] == "checked", one  # debug_token on the page token
        scheduled = run(args)
        (one,) = json.loads(scheduled.stdout)["results"]
        assert one["outcome"] == "rescheduled" and one["detail"] == "check scheduled", one
        plan = run(
            ["--sandbox", "--json", "refresh", demo.DEMO_BUSINESS, "--app", "demo-facebook", "--dry-run"]
        )
        (row,) = json.loads(plan.stdout)["plan"]
        assert row["kind"] == "fb_page", row
