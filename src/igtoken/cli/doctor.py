"""``igtoken doctor``: check apps and accounts against Meta, one line per check, with the fix."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import click

from igtoken.cli._context import AppContext, json_option, pass_ctx

if TYPE_CHECKING:
    from igtoken.cli._doctor import Check
    from igtoken.cli._meta import MetaLink
    from igtoken.refresh.usecase import Result
    from igtoken.vault import AccountRecord, AppRecord


@click.command("doctor")
@click.option("--app", "app_name", metavar="NAME", help="Check only this app (and its accounts).")
@click.argument("account", required=False)
@json_option
@pass_ctx
def doctor(app: AppContext, app_name: str | None, account: str | None) -> None:
    """Check registered apps and connected accounts; for each failure, the cause and the fix.

    Apps: Instagram app id (not the Facebook one), secret, redirect URIs (https, exact match:
    trailing slash, www), scope names (Instagram Login vs Facebook Login, retired Basic Display).
    Accounts: token valid, account type, permissions, expiry and last refresh, Meta usage. For
    Facebook Login apps: the Meta app id and secret, Facebook permission names, and per account
    the page token (debug_token; a dead one marks the account for re-authorization), the Page
    link, and the user token and data-access expiries. Exits 1 when any check fails.

    \b
    Examples:
      igtoken doctor
      igtoken doctor --app shop
      igtoken doctor demo_business --json | jq '.checks[] | select(.ok | not)'
    """
    import httpx
    from rich.markup import escape

    from igtoken.cli._accounts import login_command, resolve_account
    from igtoken.cli._check import AccountProbe
    from igtoken.cli._doctor import account_checks, app_checks, static_app_checks, unreachable
    from igtoken.cli._meta import meta_link
    from igtoken.cli._output import print_json
    from igtoken.core.exceptions import TransportError

    vault, runtime, now = app.vault, app.runtime, app.now()
    if account is not None:
        target = resolve_account(vault, account, sandbox=runtime.sandbox, app=app_name, verb="doctor")
        apps = [vault.get_app(target.app_id)]
        accounts = [target]
    else:
        apps = [vault.get_app(app_name)] if app_name else vault.list_apps()
        ids = {a.id for a in apps}
        accounts = [a for a in vault.list_accounts() if a.app_id in ids and a.status.value != "deleted"]
    emulator = runtime.sandbox or bool(runtime.settings.meta_base_url)
    checks: list[Check] = []
    with meta_link(runtime) as link:

        def check_page(acct: AccountRecord) -> Result:
            return asyncio.run(_check_now(app, link, acct.id))

        def token_dead(acct: AccountRecord, token_id: str, error: BaseException) -> Result | None:
            return asyncio.run(_mark_dead(app, link, acct.id, token_id, error))

        for record in apps:
            try:
                checks += app_checks(record, link.http, link.endpoints, emulator=emulator)
            except httpx.TransportError as exc:
                checks += [*static_app_checks(record, emulator=emulator), unreachable(record.name, exc)]
            checks += _register_checks(app, record)
        by_id = {r.id: r for r in apps}
        probe = AccountProbe(vault, link.http, link.endpoints, now, check_page, token_dead)
        for acct in accounts:
            record = by_id[acct.app_id]
            relogin = login_command(record, sandbox=runtime.sandbox)
            try:
                checks += account_checks(probe, record, acct, relogin=relogin)
            except (httpx.TransportError, TransportError) as exc:
                checks.append(unreachable(f"@{acct.username}" if acct.username else acct.id, exc))
    failed = [c for c in checks if not c.ok]
    if app.json:
        print_json({"ok": not failed, "checks": [c.as_json() for c in checks]})
    else:
        if not checks:
            click.echo(
                "Nothing to check: register an app first (igtoken apps add) or try igtoken login --sandbox."
            )
        console = app.console
        for c in checks:
            mark = "[green]PASS[/]" if c.ok else "[bold red]FAIL[/]"
            console.print(f"{mark}  {escape(c.name)} [dim]{escape(c.subject)}[/]: {escape(c.detail)}")
            if not c.ok and c.fix:
                console.print(f"      [bold]fix:[/] {escape(c.fix)}")
        console.print(f"{len(checks) - len(failed)} passed, {len(failed)} failed.")
    if failed:
        raise click.exceptions.Exit(1)


async def _check_now(app: AppContext, link: MetaLink, account_id: str) -> Result:
    """Check (or refresh) the account's token now through the refresh use case, over ``link``."""
    from igtoken.cli.worker import open_refresher

    async with open_refresher(app, link) as refresher:
        return await refresher.refresh_account(account_id, force=True, trigger="doctor")


async def _mark_dead(
    app: AppContext, link: MetaLink, account_id: str, token_id: str, error: BaseException
) -> Result | None:
    """Meta called the token dead in doctor's own call: the refresh use case marks the account."""
    from igtoken.cli.worker import open_refresher

    async with open_refresher(app, link) as refresher:
        return await refresher.token_dead(account_id, token_id, error, source="doctor")


def _register_checks(app: AppContext, record: AppRecord) -> list[Check]:
    """The three URLs to register with Meta for ``record`` (from IGTOKEN_PUBLIC_URL), one line each."""
    from igtoken.app.meta_setup import meta_urls
    from igtoken.cli._doctor import Check
    from igtoken.cli.setup import SANDBOX_PUBLIC_URL

    public_url = app.settings.public_url or (SANDBOX_PUBLIC_URL if app.runtime.sandbox else None)
    if public_url is None:
        return [
            Check(
                "register with Meta",
                record.name,
                True,
                "IGTOKEN_PUBLIC_URL is not set, so the service's callback URLs are not known here",
                "set IGTOKEN_PUBLIC_URL=https://… to see the redirect, deauthorize and data-deletion URLs",
            )
        ]
    urls = meta_urls(public_url)
    return [
        Check("register with Meta", record.name, True, f"OAuth redirect URI: {urls.redirect_uri}"),
        Check("register with Meta", record.name, True, f"Deauthorize callback URL: {urls.deauthorize_url}"),
        Check(
            "register with Meta", record.name, True, f"Data deletion request URL: {urls.data_deletion_url}"
        ),
    ]
