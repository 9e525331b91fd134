"""``igtoken apikeys create|list|revoke``: keys for the service's token API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from igtoken.cli._context import AppContext, json_option, pass_ctx

if TYPE_CHECKING:
    from igtoken.vault import ApiKeyRecord

#: :data:`igtoken.vault.records.CAPABILITIES`, spelled out so that ``igtoken --help`` loads no vault
#: (a test keeps the two equal).
CAPABILITIES = ("accounts:read", "tokens:read", "graph", "refresh", "links:create")


def key_json(record: ApiKeyRecord) -> dict[str, Any]:
    """The documented JSON shape of one API key (never the key itself)."""
    return {
        "id": record.id,
        "prefix": record.prefix,
        "name": record.name,
        "accounts": None if record.account_ids is None else list(record.account_ids),
        "capabilities": None if record.capabilities is None else list(record.capabilities),
        "created_at": record.created_at,
        "last_used_at": record.last_used_at,
        "revoked_at": record.revoked_at,
    }


@click.group("apikeys")
def apikeys() -> None:
    """Create, list and revoke API keys for igtoken's service.

    \b
    Examples:
      igtoken apikeys create reporting --account demo_business
      igtoken apikeys list
      igtoken apikeys revoke igt_1a2b3c4d
    """


@apikeys.command("create")
@click.argument("name")
@click.option(
    "--account", "accounts", multiple=True, help="Limit the key to this account (repeatable). Default: all."
)
@click.option(
    "--capability",
    "capabilities",
    multiple=True,
    type=click.Choice(CAPABILITIES),
    help="Allow only this (repeatable): accounts:read, tokens:read, graph, refresh, links:create. "
    "Default: everything.",
)
@json_option
@pass_ctx
def create(app: AppContext, name: str, accounts: tuple[str, ...], capabilities: tuple[str, ...]) -> None:
    """Create a key; it is printed once and only its hash is kept.

    \b
    Examples:
      igtoken apikeys create dashboard
      KEY=$(igtoken apikeys create cron --account demo_business --json | jq -r .key)
      igtoken apikeys create onboarding --capability links:create --capability accounts:read
    """
    from igtoken.cli._accounts import resolve_account
    from igtoken.cli._output import print_json

    vault = app.vault
    ids = [resolve_account(vault, a, sandbox=app.sandbox, verb=None).id for a in accounts] or None
    record, key = vault.api_keys.create(
        name, now=app.now(), account_ids=ids, capabilities=list(capabilities) or None
    )
    if app.json:
        print_json({**key_json(record), "key": key.reveal()})
        return
    click.echo(key.reveal())
    click.echo(
        f"Created API key {record.name!r} ({record.prefix}). It is shown only now: store it safely.", err=True
    )


@apikeys.command("list")
@json_option
@pass_ctx
def list_keys(app: AppContext) -> None:
    """List keys (prefix, scope, last use), newest first.

    \b
    Examples:
      igtoken apikeys list --json
    """
    from igtoken.cli._output import print_json, print_table

    records = app.vault.api_keys.list_all()
    if app.json:
        print_json({"apikeys": [key_json(r) for r in records]})
        return
    if not records:
        click.echo("No API keys yet. Create one: igtoken apikeys create NAME")
        return
    rows = [
        (
            r.prefix,
            r.name,
            "all" if r.account_ids is None else f"{len(r.account_ids)} account(s)",
            "all" if r.capabilities is None else ", ".join(r.capabilities),
            f"{r.created_at:%Y-%m-%d}",
            f"{r.last_used_at:%Y-%m-%d %H:%M}" if r.last_used_at else "never",
            f"revoked {r.revoked_at:%Y-%m-%d}" if r.revoked_at else "active",
        )
        for r in records
    ]
    print_table(
        ("Prefix", "Name", "Accounts", "Can", "Created", "Last used", "Status"),
        rows,
        optional=("Created", "Last used", "Can"),
    )


@apikeys.command("revoke")
@click.argument("key")
@json_option
@pass_ctx
def revoke(app: AppContext, key: str) -> None:
    """Revoke a key by its prefix (igt_…) or id.

    \b
    Examples:
      igtoken apikeys revoke igt_1a2b3c4d
    """
    from igtoken.cli._output import print_result

    record = app.vault.api_keys.revoke(key, now=app.now())
    print_result(app.json, key_json(record), f"Revoked API key {record.name!r} ({record.prefix}).")
