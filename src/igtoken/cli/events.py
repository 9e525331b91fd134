"""``igtoken events``: the audit trail (connected, refreshed, refresh_failed, needs_reauth, …)."""

from __future__ import annotations

import re
from typing import Any

import click

from igtoken.cli._context import AppContext, account_app_option, json_option, pass_ctx


@click.command("events")
@click.argument("account", required=False)
@account_app_option
@click.option("--type", "types", multiple=True, help="Only events of this type (repeatable).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000), help="Most recent N.")
@json_option
@pass_ctx
def events(
    app: AppContext, account: str | None, app_name: str | None, types: tuple[str, ...], limit: int
) -> None:
    """Show the audit trail, oldest first; for one ACCOUNT or for everything.

    Events never contain a token.

    \b
    Examples:
      igtoken events
      igtoken events demo_business --type refreshed --type refresh_failed
      igtoken events --json --limit 500 | jq '.events[] | select(.type == "needs_reauth")'
    """
    from igtoken.cli._accounts import app_names, resolve_account
    from igtoken.cli._output import print_json, print_table

    vault = app.vault
    account_id = (
        resolve_account(vault, account, sandbox=app.sandbox, app=app_name, verb="events").id
        if account
        else None
    )
    # The vault pages forward from the oldest: walk to the end and keep the last `limit`.
    found = []
    after: int | None = None
    while True:
        page = vault.events(account_id=account_id, types=types or None, after_id=after, limit=1000)
        found.extend(page)
        found = found[-limit:]
        if len(page) < 1000:
            break
        after = page[-1].id
    names = app_names(vault)
    usernames = {a.id: a.username for a in vault.list_accounts()}
    shaped: list[dict[str, Any]] = [
        {
            "id": e.id,
            "at": e.at,
            "type": e.type,
            "app": names.get(e.app_id or "", e.app_id),
            "account_id": e.account_id,
            "username": usernames.get(e.account_id or ""),
            "data": e.data,
        }
        for e in found
    ]
    if app.json:
        print_json({"events": shaped})
        return
    if not shaped:
        click.echo("No events yet.")
        return
    rows = [
        (
            f"{e['at']:%Y-%m-%d %H:%M:%S}",
            e["type"],
            "\n".join(
                part
                for part in (
                    f"@{e['username']}" if e["username"] else e["account_id"],
                    f"({e['app']})" if e["app"] else None,
                )
                if part
            ),
            ", ".join(f"{k}={_short(v)}" for k, v in e["data"].items()),
        )
        for e in shaped
    ]
    print_table(("At (UTC)", "Type", "Account (app)", "Details"), rows)


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _short(value: object) -> str:
    """A value for the table: our own row ids shortened to 8 characters (--json has them whole)."""
    text = str(value)
    return f"{text[:8]}…" if _UUID.match(text) else text
