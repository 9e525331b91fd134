"""``igtoken refresh``: refresh one account or every due token now, with a progress bar."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import click

from igtoken.cli._context import AppContext, pass_ctx

FORCE_NOTE = (
    "--force still respects Meta's 24-hour rule: a token under 24 hours old cannot be refreshed "
    "and is left for its 24-hour mark"
)


def _select(vault: Any, account: str | None, app_name: str | None = None) -> list[Any]:
    """The accounts to act on: one by id, username or Instagram user id, or every active one
    (of app ``app_name`` when given)."""
    from igtoken._exceptions import NotFoundError
    from igtoken.vault import AccountStatus

    accounts = vault.list_accounts(status=AccountStatus.ACTIVE, app=app_name)
    if account is None:
        return list(accounts)
    matches = [a for a in accounts if account in (a.id, a.username, a.ig_user_id)]
    if not matches:
        try:
            found = vault.get_account(account)
        except NotFoundError:
            raise click.ClickException(
                f"no account {account!r} (give its id, username or Instagram user id)"
            ) from None
        raise click.ClickException(
            f"account {account!r} is {found.status.value}; only active accounts are refreshed"
        )
    return matches


def _plan_rows(vault: Any, accounts: list[Any], now: datetime, policy: Any) -> list[dict[str, Any]]:
    from igtoken._exceptions import NotFoundError
    from igtoken.refresh import TokenState, plan

    rows: list[dict[str, Any]] = []
    for account in accounts:
        try:
            stored = vault.current_token(account.id)
        except NotFoundError:
            continue
        token = stored.token
        state = TokenState(
            account_id=account.id,
            kind=token.kind,
            issued_at=token.issued_at,
            expires_at=token.expires_at,
            failure_count=stored.failure_count,
            last_failure_at=now if stored.failure_count else None,
            next_attempt_at=stored.next_refresh_at,
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
    from rich.progress import Progress

    from igtoken.cli.worker import _runtime, open_worker
    from igtoken.refresh import META_MIN_AGE

    vault = _runtime(ctx).vault
    now = datetime.now(UTC)
    accounts = _select(vault, account, app_name)
    notes: list[str] = []
    if force:
        too_young = 0
        for acct in accounts:
            for kind_token in _current(vault, acct.id):
                if now - kind_token.token.issued_at < META_MIN_AGE:
                    too_young += 1
                vault.set_next_refresh(acct.id, now, kind=kind_token.token.kind)
        notes.append(FORCE_NOTE + (f" ({too_young} such token(s) here)" if too_young else ""))
    ids = None if account is None else frozenset(a.id for a in accounts)
    async with open_worker(ctx, batch_size=1000) as worker:
        with Progress(console=ctx.err_console, transient=True, disable=ctx.json) as progress:
            task = progress.add_task("refreshing", total=None)
            worker.on_result = lambda _result: progress.advance(task)
            report = await worker.run_once(now, account_ids=ids)
    return report.as_json() | {"results": [_result_json(r) for r in report.results]}, notes


def _current(vault: Any, account_id: str) -> list[Any]:
    from igtoken._exceptions import NotFoundError

    try:
        return [vault.current_token(account_id)]
    except NotFoundError:
        return []


def _result_json(result: Any) -> dict[str, Any]:
    return {
        "account_id": result.account_id,
        "outcome": result.outcome.value,
        "detail": result.detail,
        "next_attempt_at": result.next_attempt_at.isoformat() if result.next_attempt_at else None,
        "reauthorize_url": result.reauthorize_url,
    }


@click.command("refresh")
@click.argument("account", required=False)
@click.option(
    "--all", "all_accounts", is_flag=True, help="Every active account (what is due, or all with --force)."
)
@click.option(
    "--app",
    "app_name",
    metavar="NAME",
    help="The app the account is connected with (when a name matches several).",
)
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

        vault = _runtime(ctx).vault
        now = datetime.now(UTC)
        rows = _plan_rows(vault, _select(vault, account, app_name), now, DEFAULT_POLICY)
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
    if ctx.json:
        print_json(summary | {"notes": notes})
        return
    for note in notes:
        ctx.err_console.print(note)
    counts = ", ".join(f"{k}={v}" for k, v in sorted(summary["counts"].items())) or "nothing was due"
    click.echo(f"refresh: {summary['claimed']} token(s): {counts}")
    for result in summary["results"]:
        if result["reauthorize_url"]:
            click.echo(f"  {result['account_id']} needs re-authorization: {result['reauthorize_url']}")
