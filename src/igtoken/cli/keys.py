"""``igtoken keys rotate|status``: the encryption keys tokens and app secrets are sealed under."""

from __future__ import annotations

from typing import Any

import click

from igtoken.cli._context import AppContext, json_option, pass_ctx


@click.group("keys")
def keys() -> None:
    """Inspect and rotate the encryption keys.

    \b
    Examples:
      igtoken keys status
      IGTOKEN_KEYS=k2:…,k1:… igtoken keys rotate     # re-encrypt everything under k2
    """


@keys.command("status")
@json_option
@pass_ctx
def status(app: AppContext) -> None:
    """How many sealed rows each key id holds, and which key is active.

    \b
    Examples:
      igtoken keys status --json
    """
    from igtoken.cli._output import print_json, print_table

    vault = app.vault
    rows = vault.keys_status()
    shaped: list[dict[str, Any]] = [
        {
            "key_id": k.key_id,
            "tokens": k.tokens,
            "app_secrets": k.app_secrets,
            "configured": k.configured,
            "active": k.active,
        }
        for k in rows
    ]
    if app.json:
        print_json({"active_key_id": vault.keyring.active_key_id, "keys": shaped})
        return
    print_table(
        ("Key id", "Tokens", "App secrets", "Configured", "Active"),
        [
            (
                k["key_id"],
                k["tokens"],
                k["app_secrets"],
                "yes" if k["configured"] else "NO",
                "*" if k["active"] else "",
            )
            for k in shaped
        ],
    )
    missing = [k["key_id"] for k in shaped if not k["configured"] and k["tokens"] + k["app_secrets"]]
    if missing:
        click.echo(
            f"warning: rows are sealed under key(s) not configured: {', '.join(missing)}; "
            "add them to IGTOKEN_KEYS or the key file, or those tokens cannot be read",
            err=True,
        )


@keys.command("rotate")
@click.option(
    "--to", "target", metavar="KEY_ID", help="Key id to re-encrypt under (default: the active key)."
)
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
@json_option
@pass_ctx
def rotate(app: AppContext, target: str | None, batch_size: int) -> None:
    """Re-encrypt every token and app secret under the active key, online, in batches.

    \b
    Examples:
      igtoken keys rotate
      igtoken keys rotate --to k2 --batch-size 1000
    """
    from rich.progress import Progress

    from igtoken.cli._output import print_json

    vault = app.vault
    goal = target or vault.keyring.active_key_id
    total = sum(k.rows for k in vault.keys_status() if k.key_id != goal)
    with Progress(console=app.err_console, transient=True, disable=app.json) as progress:
        task = progress.add_task(f"Re-encrypting under {goal}", total=total or None)

        def on_batch(tokens: int, secrets: int) -> None:
            progress.update(task, completed=tokens + secrets)

        report = vault.rotate_keys(
            now=app.now(), target_key_id=target, batch_size=batch_size, on_batch=on_batch
        )
    if app.json:
        print_json(
            {
                "key_id": report.target_key_id,
                "tokens": report.tokens,
                "app_secrets": report.app_secrets,
                "batches": report.batches,
            }
        )
        return
    click.echo(
        f"Re-encrypted {report.tokens} token(s) and {report.app_secrets} app secret(s) under "
        f"{report.target_key_id} in {report.batches} batch(es)."
    )
