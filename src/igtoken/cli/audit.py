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
    from igtoken.cli._output import print_json, print_table
    from igtoken.instagram.scopes import DEFAULT_SCOPES

    vault = app.vault
    apps = {a.id: a for a in vault.list_apps()}
    rows: list[dict[str, Any]] = []
    for account in vault.list_accounts():
        if account.status.value == "deleted":
            continue
        record = apps[account.app_id]
        used = set(record.default_scopes or DEFAULT_SCOPES)
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
        ("Account", "App", "Granted", "Unused: drop", "Missing"),
        [
            (
                f"@{r['account']}",
                r["app"],
                ", ".join(r["granted"]),
                ", ".join(r["unused"]) or "-",
                ", ".join(r["missing"]) or "-",
            )
            for r in rows
        ],
    )
    drop = {r["app"] for r in rows if r["unused"]}
    for name in sorted(drop):
        click.echo(
            f"App {name!r}: accounts granted permissions it never requests; stop asking for them in the "
            f"App Dashboard and re-authorize with `igtoken login --app {name}`.",
            err=True,
        )
