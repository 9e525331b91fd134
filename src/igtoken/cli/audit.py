"""``igtoken audit-permissions``: granted permissions against what each app actually uses."""

from __future__ import annotations

from typing import Any

import click

from igtoken.cli._context import AppContext, json_option, pass_ctx


@click.command("audit-permissions")
@json_option
@pass_ctx
def audit_permissions(app: AppContext) -> None:
    """For each account, compare granted permissions with what its app requests; suggest what to drop.

    What an app "uses" is the scope set it requests at login (its default scopes,
    instagram_business_basic when none are set): a permission granted beyond that is
    one Meta's app review will ask about, and one a leaked token would expose.

    \b
    Examples:
      igtoken audit-permissions
      igtoken audit-permissions --json | jq '.accounts[] | select(.unused != [])'
    """
    from igtoken.cli._accounts import login_command
    from igtoken.cli._output import print_json, print_table
    from igtoken.core.models import FlowKind
    from igtoken.facebook.scopes import DEFAULT_FACEBOOK_SCOPES
    from igtoken.instagram.scopes import DEFAULT_SCOPES

    vault = app.vault
    apps = {a.id: a for a in vault.list_apps()}
    rows: list[dict[str, Any]] = []
    for account in vault.list_accounts():
        if account.status.value == "deleted":
            continue
        record = apps[account.app_id]
        facebook = record.flow_kind is FlowKind.FACEBOOK_LOGIN
        used = set(record.default_scopes or (DEFAULT_FACEBOOK_SCOPES if facebook else DEFAULT_SCOPES))
        granted = set(account.scopes)
        rows.append(
            {
                "account": account.username,
                "account_id": account.id,
                "app": record.name,
                "granted": sorted(granted),
                "used": sorted(used),
                "unused": sorted(granted - used),
                "missing": sorted(used - granted),
            }
        )
    if app.json:
        print_json({"accounts": rows})
        return
    if not rows:
        click.echo("No accounts connected.")
        return
    print_table(
        ("Account (app)", "Granted", "Unused: drop", "Missing"),
        [
            (
                f"@{r['account']}\n({r['app']})",
                "\n".join(r["granted"]),
                "\n".join(r["unused"]) or "-",
                "\n".join(r["missing"]) or "-",
            )
            for r in rows
        ],
        optional=("Granted",),
    )
    sandbox = app.runtime.sandbox
    for name in sorted({r["app"] for r in rows if r["unused"] or r["missing"]}):
        requested = " ".join(f"--scope {s}" for s in next(r["used"] for r in rows if r["app"] == name))
        click.echo(
            f"App {name!r}: its accounts' permissions differ from what it requests; re-authorize them "
            f"with `{login_command(name, sandbox=sandbox)}` (it asks for what the app requests); to "
            f"change what it requests: `igtoken{' --sandbox' if sandbox else ''} apps update {name} "
            f"{requested}` (and the same in the App Dashboard).",
            err=True,
        )
