"""``igtoken refresh``: refresh one account or every due token now, with a progress bar.

The one-shot (cron) form: the webhooks its refreshes queue are sent before it exits (a
receiver that is down gets them later from any worker). It exits as the README's table says:
3 when an account ends needing re-authorization, 4 when a refresh failed for a reason that
passes (Meta throttled or unreachable: tried again later), 1 for an unexpected failure.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from typing import Any

import click

from igtoken.cli._context import AppContext, account_app_option, pass_ctx

FORCE_NOTE = (
    "--force still respects Meta's 24-hour rule: a token under 24 hours old cannot be refreshed "
    "and is left for a later refresh"
)


def _select(
    vault: Any, account: str | None, app_name: str | None = None, *, sandbox: bool = False
) -> list[Any]:
    """The accounts to act on: one by id, username or Instagram user id, or every active one
    (of app ``app_name`` when given)."""
    from igtoken.vault import AccountStatus

    accounts = vault.list_accounts(status=AccountStatus.ACTIVE, app=app_name)
    if account is None:
        return list(accounts)
    matches = [a for a in accounts if account in (a.id, a.username, a.ig_user_id)]
    if not matches:
        named = account.removeprefix("@")
        others = [
            a
            for a in vault.list_accounts(app=app_name)
            if named in (a.id, a.username, a.ig_user_id) and a.status is not AccountStatus.DELETED
        ]
        if not others:
            raise click.ClickException(
                f"no account {account!r} (give its id, username or Instagram user id)"
            ) from None
        # Not active: it must log in again (exit 3, with the login command and link).
        raise _needs_login(vault, others[0], sandbox=sandbox)
    return matches


def _needs_login(vault: Any, account: Any, *, sandbox: bool) -> Exception:
    """Exit 3 for an account that must log in again, with the login command (and link, if known)."""
    from igtoken.cli._accounts import login_command, reauthorize_link
    from igtoken.core.exceptions import NeedsReauthorizationError

    relogin = login_command(vault.get_app(account.app_id), sandbox=sandbox)
    link = reauthorize_link(vault, account)
    reason = f": {account.status_reason}" if account.status_reason else ""
    also = f", or open {link}" if link else ""
    who = f"@{account.username}" if account.username else account.id
    return NeedsReauthorizationError(
        f"{who} needs to log in again (status {account.status.value}{reason})",
        status_code=0,
        fix=f"run `{relogin}`{also}",
    )


def _plan_rows(vault: Any, accounts: list[Any], now: datetime, policy: Any) -> list[dict[str, Any]]:
    from igtoken.core.exceptions import NotFoundError
    from igtoken.refresh.plan import plan, scheduled_state

    rows: list[dict[str, Any]] = []
    for account in accounts:
        try:
            # A Facebook Login account's page token, the one it is served and checked by (its user
            # token carries the same issue time: "the newest" would pick one at random).
            stored = vault.current_token(account.id, account.served_kind)
        except NotFoundError:
            continue
        token = stored.token
        state = scheduled_state(
            account.id,
            token.kind,
            token.issued_at,
            token.expires_at,
            failure_count=stored.failure_count,
            next_refresh_at=stored.next_refresh_at,
            now=now,
            policy=policy,
            data_access_expires_at=account.data_access_expires_at,
        )
        decision = plan(state, now, policy)
        rows.append(
            {
                "account_id": account.id,
                "username": account.username,
                "kind": token.kind.value,
                "expires_at": token.expires_at,
                "action": decision.action.value,
                "next_check_at": decision.next_check_at,
                "reason": decision.reason,
            }
        )
    return rows


async def _run(
    ctx: AppContext, account: str | None, force: bool, app_name: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    from igtoken.cli.worker import _runtime

    runtime = _runtime(ctx)
    vault, now = runtime.vault, runtime.now()
    accounts = _select(vault, account, app_name, sandbox=runtime.sandbox)
    notes: list[str] = []
    if force:
        too_young = sum(
            1
            for acct in accounts
            for stored in _current(vault, acct)
            if stored.token.kind.value == "ig_long" and not can_refresh_at(stored.token, now)
        )
        notes.append(FORCE_NOTE + (f" ({too_young} such token(s) here)" if too_young else ""))
    if account is not None or app_name is not None:  # one account, or one app's (--all --app NAME)
        summary = await _run_one(ctx, accounts, force)
    else:
        if force:
            for acct in accounts:
                for stored in _current(vault, acct):
                    vault.set_next_refresh(acct.id, now, kind=stored.token.kind)
        summary = await _run_all(ctx, now)
    summary["webhooks"] = await _deliver(ctx)
    return summary, notes


def can_refresh_at(token: Any, now: datetime) -> bool:
    """Whether Meta's 24-hour rule lets ``token`` be refreshed at ``now``."""
    from igtoken.refresh import META_MIN_AGE

    return bool(now - token.issued_at >= META_MIN_AGE)


async def _run_one(ctx: AppContext, accounts: list[Any], force: bool) -> dict[str, Any]:
    """One account, through the refresh use case under its lease (a running worker is no obstacle:
    a refresh it has under way is waited for, not repeated)."""
    import time

    from igtoken.cli.worker import open_refresher

    started, wall0 = datetime.now(UTC), time.perf_counter()
    results = []
    async with open_refresher(ctx) as refresher:
        for acct in accounts:
            results.append(await refresher.refresh_account(acct.id, force=force, trigger="cli"))
    counts: dict[str, int] = {}
    for result in results:
        counts[result.outcome.value] = counts.get(result.outcome.value, 0) + 1
    return {
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "wall_seconds": round(time.perf_counter() - wall0, 3),
        "claimed": len(results),
        "counts": counts,
        "results": [_result_json(r) for r in results],
    }


async def _run_all(ctx: AppContext, now: datetime) -> dict[str, Any]:
    """Every due token, by a worker run (one worker per SQLite file: it takes the lock)."""
    from rich.progress import Progress

    from igtoken.cli.worker import open_worker

    async with open_worker(ctx, batch_size=1000) as worker:
        with Progress(console=ctx.err_console, transient=True, disable=ctx.json) as progress:
            task = progress.add_task("refreshing", total=None)
            worker.on_result = lambda _result: progress.advance(task)
            report = await worker.run_once(now)
    return report.as_json() | {"results": [_result_json(r) for r in report.results]}


#: The exit code for each refresh outcome that is not a success, worst first (see ExitCode).
_OUTCOME_EXIT: tuple[tuple[str, int], ...] = (
    ("needs_reauth", 3),
    ("error", 1),
    ("retry", 4),
    ("throttled", 4),
    ("in_progress", 4),
)


def exit_code_of(summary: dict[str, Any]) -> int:
    """The exit code a run's summary calls for: the worst outcome's, 0 when every token is fine."""
    counts = summary["counts"]
    for outcome, code in _OUTCOME_EXIT:
        if counts.get(outcome):
            return code
    return 0


async def _deliver(ctx: AppContext) -> dict[str, int] | None:
    """Send the webhooks that are due (these refreshes' events among them); ``None`` without receivers."""
    from igtoken.app.refresh_wiring import deliver_queued
    from igtoken.cli.worker import _runtime

    runtime = _runtime(ctx)
    if not runtime.settings.webhook_urls:
        return None
    attempts = await deliver_queued(runtime, owner=f"cli-{os.getpid()}")
    counts = {"delivered": 0, "retry": 0, "failed": 0}
    for attempt in attempts:
        counts[attempt.outcome.value] = counts.get(attempt.outcome.value, 0) + 1
    return counts


def _current(vault: Any, account: Any) -> list[Any]:
    """The account's served token (a Facebook Login account's page token), or none."""
    from igtoken.core.exceptions import NotFoundError

    try:
        return [vault.current_token(account.id, account.served_kind)]
    except NotFoundError:
        return []


def _result_json(result: Any) -> dict[str, Any]:
    return {
        "account_id": result.account_id,
        "outcome": result.outcome.value,
        "detail": result.detail,
        "next_attempt_at": result.next_attempt_at.isoformat() if result.next_attempt_at else None,
        "reauthorize_url": result.reauthorize_url,
        "joined": getattr(result, "joined", False),
    }


@click.command("refresh")
@click.argument("account", required=False)
@click.option(
    "--all", "all_accounts", is_flag=True, help="Every active account (what is due, or all with --force)."
)
@account_app_option
@click.option("--dry-run", is_flag=True, help="Print what would be done and when; call nothing.")
@click.option(
    "--force", is_flag=True, help="Refresh now even if not yet scheduled (Meta's 24-hour rule still holds)."
)
@pass_ctx
def refresh(
    ctx: AppContext, account: str | None, all_accounts: bool, app_name: str | None, dry_run: bool, force: bool
) -> None:
    """Refresh ACCOUNT (id, username or Instagram user id), or with --all every due token, now."""
    from igtoken.cli._output import print_json, print_table
    from igtoken.refresh import DEFAULT_POLICY

    if (account is None) == (not all_accounts):
        raise click.UsageError("give one ACCOUNT or --all")
    if dry_run:
        from igtoken.cli.worker import _runtime

        runtime = _runtime(ctx)
        vault, now = runtime.vault, runtime.now()
        selected = _select(vault, account, app_name, sandbox=runtime.sandbox)
        rows = _plan_rows(vault, selected, now, DEFAULT_POLICY)
        if ctx.json:
            print_json({"dry_run": True, "plan": rows, "force": force, "note": FORCE_NOTE if force else None})
            return
        print_table(
            ["account", "username", "kind", "expires", "action", "next check", "reason"],
            [
                [
                    r["account_id"],
                    r["username"],
                    r["kind"],
                    f"{r['expires_at']:%Y-%m-%d %H:%M}" if r["expires_at"] else "never",
                    r["action"],
                    f"{r['next_check_at']:%Y-%m-%d %H:%M}" if r["next_check_at"] else "",
                    r["reason"],
                ]
                for r in rows
            ],
            title="refresh plan (dry run: nothing was called)",
            optional=("account", "kind"),
        )
        if force:
            ctx.err_console.print(FORCE_NOTE)
        return
    summary, notes = asyncio.run(_run(ctx, account, force, app_name))
    code = exit_code_of(summary)
    # One account asked for by name whose token Meta calls dead: the error/fix pair and exit 3, as
    # `igtoken token` gives (with --json the summary carries exit_code 3).
    dead = [r for r in summary["results"] if r["outcome"] == "needs_reauth"] if account is not None else []
    if ctx.json:
        print_json(summary | {"notes": notes, "exit_code": code})
    else:
        for note in notes:
            ctx.err_console.print(note)
        counts = ", ".join(f"{k}={v}" for k, v in sorted(summary["counts"].items())) or "nothing was due"
        click.echo(f"refresh: {summary['claimed']} token(s): {counts}")
        for result in summary["results"]:
            if result["outcome"] == "needs_reauth" or result["reauthorize_url"]:
                how = result["reauthorize_url"] or "log in again with igtoken login"
                click.echo(f"  {result['account_id']} needs re-authorization: {how}")
            elif result["outcome"] in ("error", "retry", "throttled"):
                click.echo(f"  {result['account_id']} {result['outcome']}: {result['detail']}")
        webhooks = summary["webhooks"]
        if webhooks is not None and any(webhooks.values()):
            later = webhooks.get("retry", 0)
            line = f"webhooks: {webhooks.get('delivered', 0)} delivered"
            if later:
                line += f", {later} to retry (a running worker, or the next refresh, sends them)"
            if webhooks.get("failed"):
                line += f", {webhooks['failed']} failed for good"
            click.echo(line)
    if dead and not ctx.json:
        from igtoken.cli.worker import _runtime

        runtime = _runtime(ctx)
        dead_account = runtime.vault.get_account(dead[0]["account_id"])
        raise _needs_login(runtime.vault, dead_account, sandbox=runtime.sandbox)
    if code:
        raise click.exceptions.Exit(code)
