"""``igtoken accounts list|show|remove``: the connected Instagram accounts and their tokens."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from igtoken.cli._context import AppContext, account_app_option, json_option, pass_ctx
from igtoken.cli._output import show_token_option

if TYPE_CHECKING:
    from igtoken.vault import AccountRecord, TokenInfo, Vault


def current_token_info(vault: Vault, account: AccountRecord) -> TokenInfo | None:
    """The served token's metadata (never its value), or ``None``: the page token of a Facebook
    Login account, otherwise the current token."""
    kind = account.served_kind
    return next((t for t in vault.token_history(account.id, kind) if t.is_current), None)


def days_left(expires_at: datetime | None, now: datetime) -> float | None:
    """Days until ``expires_at``, one decimal; ``None`` when it never expires."""
    if expires_at is None:
        return None
    return round((expires_at - now).total_seconds() / 86400, 1)


def account_json(vault: Vault, account: AccountRecord, apps: dict[str, str], now: datetime) -> dict[str, Any]:
    """The documented JSON shape of one account with its current token's metadata."""
    info = current_token_info(vault, account)
    token = None
    if info is not None:
        token = {
            "kind": info.kind,
            "issued_at": info.issued_at,
            "expires_at": info.expires_at,
            "days_left": days_left(info.expires_at, now),
            "last_refreshed_at": info.last_refreshed_at,
            "next_refresh_at": info.next_refresh_at,
            "failure_count": info.failure_count,
            "last_error": info.last_error,
        }
    return {
        "id": account.id,
        "username": account.username,
        "ig_user_id": account.ig_user_id,
        "app_scoped_id": account.app_scoped_id,
        "app": apps.get(account.app_id, account.app_id),
        "account_type": account.account_type,
        "status": account.status,
        "status_reason": account.status_reason,
        "scopes": list(account.scopes),
        "connected_at": account.created_at,
        "token": token,
        "page": None if account.page_id is None else {"id": account.page_id, "name": account.page_name},
        "data_access_expires_at": account.data_access_expires_at,
    }


@click.group("accounts")
def accounts() -> None:
    """List, inspect and remove connected Instagram accounts.

    \b
    Examples:
      igtoken accounts list
      igtoken accounts show demo_business --json
      igtoken accounts remove demo_business --yes
    """


@accounts.command("list")
@json_option
@pass_ctx
def list_accounts(app: AppContext) -> None:
    """List connected accounts with their token's expiry and refresh schedule.

    \b
    Examples:
      igtoken accounts list
      igtoken accounts list --json | jq -r '.accounts[] | select(.status != "active") | .username'
    """
    from igtoken.cli._accounts import app_names, login_command
    from igtoken.cli._output import print_json, print_table

    vault, now = app.vault, app.now()
    names = app_names(vault)
    records = [a for a in vault.list_accounts() if a.status.value != "deleted"]
    shaped = [account_json(vault, a, names, now) for a in records]
    if app.json:
        print_json({"accounts": shaped})
        return
    if not shaped:
        click.echo(
            f"No accounts connected yet. Connect one: {login_command(None, sandbox=app.runtime.sandbox)}"
        )
        return
    rows = []
    for a in shaped:
        t = a["token"] or {}
        rows.append(
            (
                f"@{a['username']}",
                a["app"],
                a["account_type"].value if a["account_type"] else "",
                a["status"].value,
                _expires_in(t),
                _when(t.get("last_refreshed_at")),
                _when(t.get("next_refresh_at")),
            )
        )
    print_table(
        ("Account", "App", "Type", "Status", "Expires in", "Last refresh", "Next refresh"),
        rows,
        optional=("Last refresh", "Type"),
    )


def _expires_in(token: dict[str, Any]) -> str:
    if not token:
        return ""
    return "never" if token.get("days_left") is None else f"{token['days_left']:g} days"


def _when(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M}"


@accounts.command("show")
@click.argument("account", required=False)
@account_app_option
@show_token_option
@json_option
@pass_ctx
def show(app: AppContext, account: str | None, app_name: str | None, show_token: bool) -> None:
    """Show one account: profile, scopes, current token (masked) and token history.

    \b
    Examples:
      igtoken accounts show demo_business
      igtoken accounts show demo_business --show-token
      igtoken accounts show demo_business --app demo-facebook
    """
    from igtoken.cli._accounts import app_names, resolve_account
    from igtoken.cli._output import mask_token, print_json, print_table

    vault, now = app.vault, app.now()
    record = resolve_account(vault, account, sandbox=app.runtime.sandbox, app=app_name, verb="accounts show")
    shaped = account_json(vault, record, app_names(vault), now)
    if shaped["token"] is not None:
        stored = vault.current_token(
            record.id, record.served_kind, record_read=show_token, now=now, reader="cli accounts show"
        )
        shaped["token"]["value"] = mask_token(stored.token.value, show=show_token)
    history = [
        {"kind": t.kind, "issued_at": t.issued_at, "expires_at": t.expires_at, "retired_at": t.retired_at}
        for t in vault.token_history(record.id)
    ]
    shaped["history"] = history
    if app.json:
        print_json(shaped)
        return
    rows = [
        ("Account", f"@{shaped['username']} (id {shaped['id']})"),
        ("Instagram user id", shaped["ig_user_id"]),
        ("App", shaped["app"]),
        ("Type", shaped["account_type"].value if shaped["account_type"] else ""),
        (
            "Status",
            shaped["status"].value + (f" ({shaped['status_reason']})" if shaped["status_reason"] else ""),
        ),
        ("Scopes", ", ".join(shaped["scopes"])),
    ]
    if record.page_id is not None:
        rows.append(("Facebook Page", f"{record.page_name or ''} (id {record.page_id})".strip()))
        if record.data_access_expires_at is not None:
            rows.append(("Data access until", _when(record.data_access_expires_at)))
    t = shaped["token"]
    if t is not None:
        rows += [
            ("Token", t["value"]),
            (
                "Expires",
                f"{_when(t['expires_at'])} ({t['days_left']:g} days)" if t["expires_at"] else "never",
            ),
            ("Last refresh", _when(t["last_refreshed_at"]) or "never"),
            ("Next refresh", _when(t["next_refresh_at"])),
            ("Failures", f"{t['failure_count']}" + (f" — {t['last_error']}" if t["last_error"] else "")),
        ]
    rows.append(("Tokens held so far", str(len(history))))
    print_table(("Field", "Value"), rows)


@accounts.command("remove")
@click.argument("account")
@account_app_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@pass_ctx
def remove(app: AppContext, account: str, app_name: str | None, yes: bool) -> None:
    """Delete an account's tokens and personal data for good (a tombstone remains).

    \b
    Examples:
      igtoken accounts remove demo_business --yes
    """
    from igtoken.cli._accounts import resolve_account
    from igtoken.cli._output import print_result

    vault = app.vault
    record = resolve_account(
        vault, account, sandbox=app.runtime.sandbox, app=app_name, verb="accounts remove"
    )
    if not yes and not app.json:
        click.confirm(f"Delete @{record.username} and all its tokens for good?", abort=True, err=True)
    vault.delete_account_data(record.id, now=app.now())
    print_result(
        app.json,
        {"removed": {"id": record.id, "username": record.username}},
        f"Removed @{record.username}: its tokens and personal data are deleted.",
    )
