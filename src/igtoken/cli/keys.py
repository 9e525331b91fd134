"""``igtoken keys status|add|rotate``: the encryption keys tokens and app secrets are sealed under.

Keys come from a key file (the embedded default creates one in the user's config directory;
``IGTOKEN_KEY_FILE`` names another) or from ``IGTOKEN_KEYS``. With a key file igtoken manages
the keys itself: ``keys add`` writes a new active key into it, ``keys rotate`` does that and
re-encrypts every row under the new key. With ``IGTOKEN_KEYS`` the environment is the source
of truth: put a new key first there, then ``keys rotate`` re-encrypts under it.
Old keys stay in the file (rows a running process wrote a moment ago, connect links' MACs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from igtoken.cli._context import AppContext, json_option, pass_ctx


@click.group("keys")
def keys() -> None:
    """Inspect and rotate the encryption keys.

    \b
    Examples:
      igtoken keys status
      igtoken keys rotate                           # key file: a new key, everything re-encrypted under it
      IGTOKEN_KEYS=k2:…,k1:… igtoken keys rotate     # re-encrypt everything under k2
    """


def _key_file(app: AppContext) -> Path | None:
    """The key file the vault's keys come from, or ``None`` when they come from IGTOKEN_KEYS."""
    return app.runtime.open_vault().key_file


def _env_keys_error(what: str) -> Exception:
    from igtoken.core.exceptions import ConfigurationError

    return ConfigurationError(
        f"the keys come from IGTOKEN_KEYS, so igtoken cannot {what}",
        fix='put a new key first in IGTOKEN_KEYS (e.g. "k2:$(openssl rand -base64 32),k1:…") on every '
        "process, then run `igtoken keys rotate`",
    )


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
    key_file = _key_file(app)
    source = str(key_file) if key_file is not None else "IGTOKEN_KEYS"
    if app.json:
        print_json({"active_key_id": vault.keyring.active_key_id, "source": source, "keys": shaped})
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
    click.echo(f"New rows are sealed under {vault.keyring.active_key_id}. Keys from: {source}")
    missing = [k["key_id"] for k in shaped if not k["configured"] and k["tokens"] + k["app_secrets"]]
    if missing:
        click.echo(
            f"warning: rows are sealed under key(s) not configured: {', '.join(missing)}; "
            "add them to IGTOKEN_KEYS or the key file, or those tokens cannot be read",
            err=True,
        )


@keys.command("add")
@click.option("--id", "key_id", metavar="KEY_ID", help="Id of the new key (default: a random one).")
@json_option
@pass_ctx
def add(app: AppContext, key_id: str | None) -> None:
    """Add a new key to the key file and make it the active one (existing rows stay where they are).

    New tokens and secrets are sealed under it at once, in every process using the key file;
    `igtoken keys rotate --to KEY_ID` then moves the existing rows to it.

    \b
    Examples:
      igtoken keys add
      igtoken keys add --id k2027 && igtoken keys rotate --to k2027
    """
    from igtoken.cli._output import print_json
    from igtoken.vault.crypto import add_key_to_file

    vault = app.vault
    key_file = _key_file(app)
    if key_file is None:
        raise _env_keys_error("add a key")
    previous = vault.keyring.active_key_id
    new = add_key_to_file(key_file, key_id)
    if app.json:
        print_json({"key_id": new, "previous_key_id": previous, "key_file": key_file})
        return
    click.echo(f"Added key {new} to {key_file}; it is now the active key (it was {previous}).")
    click.echo(f"Next: igtoken{' --sandbox' if app.sandbox else ''} keys rotate --to {new}")


@keys.command("rotate")
@click.option(
    "--to",
    "target",
    metavar="KEY_ID",
    help="Re-encrypt under this existing key (default: a new key, with a key file; the active one "
    "with IGTOKEN_KEYS).",
)
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
@json_option
@pass_ctx
def rotate(app: AppContext, target: str | None, batch_size: int) -> None:
    """Re-encrypt every token and app secret under a new key, online, in batches.

    With a key file (the default install) it first adds a new key and makes it active, so
    afterwards no row is left under the old one (`igtoken keys status` shows 0). With
    IGTOKEN_KEYS, put the new key first there; rotate then re-encrypts under it.

    \b
    Examples:
      igtoken keys rotate
      igtoken keys rotate --to k2 --batch-size 1000
    """
    from rich.progress import Progress

    from igtoken.cli._output import print_json
    from igtoken.vault.crypto import add_key_to_file

    vault = app.vault
    key_file = _key_file(app)
    previous = vault.keyring.active_key_id
    created = None
    if target is None and key_file is not None:
        created = add_key_to_file(key_file)
        target = created
    goal = target or vault.keyring.active_key_id
    total = sum(k.rows for k in vault.keys_status() if k.key_id != goal)
    if key_file is None and target is None and total == 0:
        raise _env_keys_error("make a new key (every row is already under the active key)")
    with Progress(console=app.err_console, transient=True, disable=app.json) as progress:
        task = progress.add_task(f"Re-encrypting under {goal}", total=total or None)

        def on_batch(tokens: int, secrets: int) -> None:
            progress.update(task, completed=tokens + secrets)

        report = vault.rotate_keys(
            now=app.now(), target_key_id=target, batch_size=batch_size, on_batch=on_batch
        )
    left = {k.key_id: k.rows for k in vault.keys_status() if k.key_id != report.target_key_id and k.rows}
    if app.json:
        print_json(
            {
                "key_id": report.target_key_id,
                "created": created is not None,
                "previous_key_id": previous,
                "tokens": report.tokens,
                "app_secrets": report.app_secrets,
                "batches": report.batches,
                "rows_left_on_other_keys": left,
            }
        )
        return
    if created is not None:
        click.echo(f"Created key {created} in {key_file} and made it active (it was {previous}).")
    click.echo(
        f"Re-encrypted {report.tokens} token(s) and {report.app_secrets} app secret(s) under "
        f"{report.target_key_id} in {report.batches} batch(es)."
    )
    if left:
        listing = ", ".join(f"{k}: {n}" for k, n in sorted(left.items()))
        click.echo(f"warning: rows still under other keys ({listing}); run it again", err=True)
    elif created is not None:
        click.echo(f"No row is left under {previous}; it stays in the key file so nothing in flight breaks.")
