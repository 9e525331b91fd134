"""The worker and Facebook Login accounts, on the in-process emulator and one controllable clock:
page tokens checked with debug_token on schedule, a password change becoming re-authorization,
and the data-access and user-token expiry warnings."""

from __future__ import annotations

from igtoken.core.models import FlowKind, TokenKind
from igtoken.core.secret import Secret
from igtoken.emulator import demo
from igtoken.refresh.facebook_accounts import first_check_at
from igtoken.refresh.outcomes import Outcome
from igtoken.vault import AccountRecord
from tests.support.fleet import PUBLIC_URL, Rig

SCOPES = ["instagram_basic", "pages_show_list", "pages_read_engagement", "business_management"]


async def connect_demo_page(rig: Rig) -> AccountRecord:
    """Log the emulator's demo Facebook user in and store the Page account as the service does."""
    now = rig.clock.now()
    app = rig.vault.add_app(
        "demo-facebook",
        instagram_app_id=demo.DEMO_FB_APP_ID,
        app_secret=Secret(demo.DEMO_FB_APP_SECRET),
        redirect_uris=list(demo.DEMO_REDIRECT_URIS),
        now=now,
        flow_kind=FlowKind.FACEBOOK_LOGIN,
        meta_app_id=demo.DEMO_FB_APP_ID,
        meta_app_secret=Secret(demo.DEMO_FB_APP_SECRET),
    )
    client = await rig.worker.refresher.client(app.id)
    dialog = client.facebook_authorization_url(state="s", scopes=SCOPES)
    back = await rig.http.get(f"{dialog}&emulator_account={demo.DEMO_FB_USER}&emulator_decision=approve")
    assert back.status_code in (302, 303), back.text
    result = await client.facebook_login(back.headers["location"], now=now)
    (account,) = rig.vault.save_facebook_login(app.id, result, now=now, next_check_at=first_check_at(now))
    assert account.data_access_expires_at is not None
    rig.world.log.clear()  # the login itself asked debug_token; count only the worker's calls
    return account


def debug_token_calls(rig: Rig) -> int:
    return len(rig.world.log.entries(path="debug_token"))


async def test_page_token_is_checked_on_schedule_and_stays_active(rig):
    """Not before its first check; then one debug_token, the account stays active, a token_checked
    event, and the next check moves one interval on."""
    account = await connect_demo_page(rig)
    early = await rig.worker.run_once()
    assert early.claimed == 0 and debug_token_calls(rig) == 0
    rig.advance(rig.worker.policy.page_check_interval)
    report = await rig.worker.run_once()
    (result,) = report.results
    assert result.outcome is Outcome.CHECKED and result.account_id == account.id
    assert result.next_attempt_at == rig.clock.now() + rig.worker.policy.page_check_interval
    assert debug_token_calls(rig) == 1
    assert rig.vault.get_account(account.id).status == "active"
    stored = rig.vault.current_token(account.id, TokenKind.FB_PAGE)
    assert stored.next_refresh_at == result.next_attempt_at and stored.failure_count == 0
    (event,) = rig.vault.events(account_id=account.id, types=["token_checked"])
    assert event.data["valid"] is True and event.data["trigger"] == "schedule"
    assert (await rig.worker.run_once()).claimed == 0  # nothing due until the next interval


async def test_password_change_makes_the_next_check_need_reauthorization(rig):
    """After the person changes their Facebook password, the scheduled check finds the page token
    dead (190/460): needs_reauth, with an event carrying a re-authorization link."""
    account = await connect_demo_page(rig)
    rig.world.change_password(demo.DEMO_FB_USER)
    rig.advance(rig.worker.policy.page_check_interval)
    (result,) = (await rig.worker.run_once()).results
    assert result.outcome is Outcome.NEEDS_REAUTH and "460" in result.detail
    assert result.reauthorize_url is not None and result.reauthorize_url.startswith(f"{PUBLIC_URL}/connect/")
    assert rig.vault.get_account(account.id).status == "needs_reauth"
    (event,) = rig.vault.events(account_id=account.id, types=["needs_reauth"])
    assert event.data["reauthorize_url"] == result.reauthorize_url
    link = rig.vault.links.get(Secret(result.reauthorize_url.rsplit("/", 1)[1]))
    assert link.id == event.data["link_id"] and link.account_id == account.id
    assert debug_token_calls(rig) == 1
    rig.advance(rig.worker.policy.page_check_interval)
    assert (await rig.worker.run_once()).claimed == 0  # a dead account is left alone


async def test_data_access_and_user_token_expiry_warnings_fire_once_each(rig):
    """Day by day toward the 90-day data-access expiry: the user token's 60-day expiry and the data
    access each get their 14/7/3/1-day warning exactly once; at the data-access expiry the account
    needs re-authorization."""
    account = await connect_demo_page(rig)
    data_access = account.data_access_expires_at
    user = rig.vault.current_token(account.id, TokenKind.FB_USER).token
    assert user.expires_at is not None and user.expires_at < data_access
    step = rig.worker.policy.page_check_interval
    outcomes: list[Outcome] = []
    while rig.clock.now() < data_access + step:
        rig.advance(step)
        outcomes.extend(r.outcome for r in (await rig.worker.run_once()).results)
    warned = rig.vault.events(account_id=account.id, types=["expiring"], limit=100)
    by_subject: dict[tuple[str, str], list[float]] = {}
    for event in warned:
        key = (event.data["expiry_subject"], event.data["token_kind"])
        by_subject.setdefault(key, []).append(event.data["threshold_days"])
    assert sorted(by_subject[("data_access", "fb_page")]) == [1.0, 3.0, 7.0, 14.0]
    assert sorted(by_subject[("token", "fb_user")]) == [1.0, 3.0, 7.0, 14.0]
    assert len(warned) == 8
    data_access_events = [e for e in warned if e.data["expiry_subject"] == "data_access"]
    assert {e.data["expires_at"] for e in data_access_events} == {data_access.isoformat()}
    assert Outcome.CHECKED in outcomes and outcomes[-1] is Outcome.NEEDS_REAUTH
    assert rig.vault.get_account(account.id).status == "needs_reauth"
