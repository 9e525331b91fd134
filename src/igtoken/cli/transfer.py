"""``igtoken export`` and ``igtoken import``: the whole vault in one passphrase-sealed file.

See :mod:`igtoken.vault.transfer` for what the file holds and how it is sealed (scrypt, then
AES-256-GCM). The passphrase comes from ``IGTOKEN_EXPORT_PASSPHRASE`` or a hidden prompt
(asked twice on export), never from an argument.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from igtoken.cli._context import AppContext, json_option, pass_ctx

if TYPE_CHECKING:
    from igtoken.core.secret import Secret

PASSPHRASE_VARIABLE = "IGTOKEN_EXPORT_PASSPHRASE"  # noqa: S105 - a variable name, not a secret


def _passphrase(app: AppContext, *, confirm: bool) -> Secret:
    from igtoken.core.secret import Secret

    value = app.getenv(PASSPHRASE_VARIABLE)
    if value is None:
        value = click.prompt("Export passphrase", hide_input=True, confirmation_prompt=confirm, err=True)
    return Secret(value)


@click.command("export")
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write (mode 0600; refused if it exists unless --force).",
)
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@json_option
@pass_ctx
def export(app: AppContext, output: Path, force: bool) -> None:
    """Write the whole vault (apps, accounts, tokens, events, API keys) to a passphrase-sealed file.

    Nothing in the file can be read without the passphrase (IGTOKEN_EXPORT_PASSPHRASE, or
    asked for twice). `igtoken import FILE` restores it on another machine, under other
    keys, or into PostgreSQL.

    \b
    Examples:
      igtoken export --output vault.igtoken
      IGTOKEN_EXPORT_PASSPHRASE=… igtoken export -o /backup/igtoken-$(date +%F).igtoken --force
    """
    from igtoken.cli._output import print_json
    from igtoken.core.exceptions import ConfigurationError
    from igtoken.vault.crypto import write_private_file
    from igtoken.vault.transfer import export_vault, seal_export

    if output.exists() and not force:
        raise ConfigurationError(f"{output} exists", fix="choose another --output, or add --force")
    passphrase = _passphrase(app, confirm=True)
    vault = app.vault
    data = export_vault(vault.engine, vault.keyring)
    blob = seal_export(data, passphrase, created_at=app.now())
    write_private_file(output, blob)
    counts = {name: len(rows) for name, rows in data.items()}
    if app.json:
        print_json({"output": output, "counts": counts})
        return
    click.echo(
        f"Wrote {output}: {counts['apps']} app(s), {counts['accounts']} account(s), "
        f"{counts['tokens']} token(s), {counts['events']} event(s), sealed with the passphrase."
    )
    click.echo(f"Next, on the other side: igtoken import {output}")


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@pass_ctx
def import_(app: AppContext, file: Path) -> None:
    """Restore a file written by `igtoken export` into this installation's (empty) vault.

    Every token and secret is sealed again under this installation's active key; the
    database may be the embedded SQLite one or PostgreSQL (IGTOKEN_DATABASE_URL, after
    `igtoken db upgrade`). Everything is written in one transaction, or nothing.

    \b
    Examples:
      igtoken import vault.igtoken
      IGTOKEN_DATABASE_URL=postgresql://… IGTOKEN_KEYS=… igtoken import vault.igtoken
    """
    from igtoken.cli._output import print_json
    from igtoken.core.exceptions import ConfigurationError
    from igtoken.vault.transfer import import_vault, unseal_export

    if app.sandbox:
        raise ConfigurationError(
            "the sandbox vault is not a place to import into (its demo apps are already there)",
            fix=f"import into a real installation: igtoken import {file}",
        )
    blob = file.read_bytes()
    passphrase = _passphrase(app, confirm=False)
    data = unseal_export(blob, passphrase)
    vault = app.vault
    counts = import_vault(vault.engine, vault.keyring, data)
    if app.json:
        print_json({"input": file, "counts": counts, "key_id": vault.keyring.active_key_id})
        return
    click.echo(
        f"Imported {counts['apps']} app(s), {counts['accounts']} account(s), {counts['tokens']} token(s) "
        f"and {counts['events']} event(s), sealed under key {vault.keyring.active_key_id}."
    )
    click.echo(f"Next: igtoken{' --sandbox' if app.sandbox else ''} accounts list")
