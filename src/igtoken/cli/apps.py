"""``igtoken apps add|list|remove``: the Meta apps igtoken acts for.

The app secret is never taken from a command-line argument (it would land in shell history
and ``ps``): it is read from a prompt, a file (``--secret-file``) or an environment variable
(``--secret-env``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from igtoken.cli._context import AppContext, json_option, pass_ctx

if TYPE_CHECKING:
    from igtoken._secret import Secret
    from igtoken.vault import AppRecord


def app_json(app: AppRecord) -> dict[str, Any]:
    """The documented JSON shape of one app: never its secrets, only whether they are set."""
    return {
        "id": app.id,
        "name": app.name,
        "flow": app.flow_kind.value,
        "app_id": app.meta_app_id if app.flow_kind.value == "facebook_login" else app.instagram_app_id,
        "instagram_app_id": app.instagram_app_id,
        "meta_app_id": app.meta_app_id,
        "redirect_uris": list(app.redirect_uris),
        "default_scopes": list(app.default_scopes),
        "has_meta_app_secret": app.meta_app_secret is not None,
        "created_at": app.created_at,
        "updated_at": app.updated_at,
    }


@click.group("apps")
def apps() -> None:
    """Register, list and remove the Meta apps igtoken logs in with.

    \b
    Examples:
      igtoken apps add shop --app-id 990602627938098 --redirect-uri https://localhost:8443/callback
      IG_SECRET=… igtoken apps add shop --app-id 990602627938098 --secret-env IG_SECRET \\
          --redirect-uri https://localhost:8443/callback
      igtoken apps list --json
      igtoken apps remove shop
    """


def read_secret(secret_file: Path | None, secret_env: str | None, *, prompt: str) -> Secret:
    """The app secret from a file, an environment variable, or a hidden prompt (in that order)."""
    from igtoken._exceptions import ConfigurationError
    from igtoken._secret import Secret

    if secret_file is not None and secret_env is not None:
        raise click.UsageError("give --secret-file or --secret-env, not both")
    if secret_file is not None:
        try:
            value = secret_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read the app secret from {secret_file}: {exc.strerror}",
                fix="check the path and its permissions",
            ) from exc
        where = str(secret_file)
    elif secret_env is not None:
        value = os.environ.get(secret_env, "").strip()
        where = f"${secret_env}"
    else:
        value = click.prompt(prompt, hide_input=True, err=True).strip()
        where = "the prompt"
    if not value:
        raise ConfigurationError(
            f"the app secret from {where} is empty",
            fix="copy the App Secret from the app dashboard (Instagram > API setup with Instagram login)",
        )
    return Secret(value)


@apps.command("add")
@click.argument("name")
@click.option("--app-id", required=True, help="Instagram app id (Facebook Login: the Meta app id).")
@click.option(
    "--redirect-uri",
    "redirect_uris",
    multiple=True,
    required=True,
    help="A redirect URI exactly as registered with Meta (repeatable).",
)
@click.option(
    "--flow",
    type=click.Choice(["instagram_login", "facebook_login"]),
    default="instagram_login",
    show_default=True,
    help="Which Meta login product the app uses.",
)
@click.option("--scope", "scopes", multiple=True, help="Default scope to request (repeatable).")
@click.option(
    "--secret-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the app secret from this file.",
)
@click.option("--secret-env", metavar="VAR", help="Read the app secret from this environment variable.")
@json_option
@pass_ctx
def add(
    app: AppContext,
    name: str,
    app_id: str,
    redirect_uris: tuple[str, ...],
    flow: str,
    scopes: tuple[str, ...],
    secret_file: Path | None,
    secret_env: str | None,
) -> None:
    """Register a Meta app; the secret is prompted for unless --secret-file or --secret-env is given.

    \b
    Examples:
      igtoken apps add shop --app-id 990602627938098 --redirect-uri https://localhost:8443/callback
      igtoken apps add shop --app-id 990602627938098 --secret-file ~/.ig-secret \\
          --redirect-uri http://127.0.0.1:8765/callback --scope instagram_business_basic
    """
    from igtoken._exceptions import ConfigurationError
    from igtoken._models import FlowKind
    from igtoken._scopes import check_scopes, split_scopes
    from igtoken.cli._output import print_json

    if not app_id.isdigit():
        raise ConfigurationError(
            f"the app id must be digits, got {app_id!r}",
            fix="copy the Instagram app id from the app dashboard "
            "(Instagram > API setup with Instagram login)",
        )
    kind = FlowKind(flow)
    names = split_scopes(scopes)
    if names and kind is FlowKind.INSTAGRAM_LOGIN:
        names = check_scopes(names)
    secret = read_secret(secret_file, secret_env, prompt=f"App secret for {name}")
    record = app.vault.add_app(
        name,
        instagram_app_id=app_id,
        app_secret=secret,
        redirect_uris=list(redirect_uris),
        now=app.now(),
        default_scopes=names,
        flow_kind=kind,
        meta_app_id=app_id if kind is FlowKind.FACEBOOK_LOGIN else None,
        meta_app_secret=secret if kind is FlowKind.FACEBOOK_LOGIN else None,
    )
    if app.json:
        print_json(app_json(record))
        return
    click.echo(f"Registered app {record.name!r} ({record.flow_kind.value}, app id {app_id}).")
    click.echo(
        f"Next: igtoken login --app {record.name}   (and `igtoken doctor --app {record.name}` to check it)"
    )


@apps.command("list")
@json_option
@pass_ctx
def list_apps(app: AppContext) -> None:
    """List registered apps (secrets are never shown).

    \b
    Examples:
      igtoken apps list
      igtoken apps list --json | jq '.apps[].name'
    """
    from igtoken.cli._output import print_json, print_table

    records = app.vault.list_apps()
    if app.json:
        print_json({"apps": [app_json(r) for r in records]})
        return
    if not records:
        click.echo("No apps registered yet. Add one: igtoken apps add NAME --app-id ID --redirect-uri URL")
        return
    rows = [
        (
            r.name,
            r.flow_kind.value,
            r.meta_app_id if r.flow_kind.value == "facebook_login" else r.instagram_app_id,
            "\n".join(r.redirect_uris),
            ", ".join(r.default_scopes) or "(default)",
        )
        for r in records
    ]
    print_table(("Name", "Flow", "App id", "Redirect URIs", "Scopes"), rows, optional=("Scopes", "Flow"))


@apps.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@pass_ctx
def remove(app: AppContext, name: str, yes: bool) -> None:
    """Remove an app (refused while it still has connected accounts).

    \b
    Examples:
      igtoken apps remove shop --yes
    """
    from igtoken.cli._output import print_json

    record = app.vault.get_app(name)
    if not yes and not app.json:
        click.confirm(f"Remove app {record.name!r} and its stored secret?", abort=True, err=True)
    app.vault.remove_app(record.id, now=app.now())
    if app.json:
        print_json({"removed": record.name})
        return
    click.echo(f"Removed app {record.name!r}.")


@apps.command("set-secret")
@click.argument("name")
@click.option(
    "--secret-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the app secret from this file.",
)
@click.option("--secret-env", metavar="VAR", help="Read the app secret from this environment variable.")
@json_option
@pass_ctx
def set_secret(app: AppContext, name: str, secret_file: Path | None, secret_env: str | None) -> None:
    """Replace an app's secret (prompted for unless --secret-file or --secret-env is given).

    \b
    Examples:
      igtoken apps set-secret shop
      igtoken apps set-secret shop --secret-file ~/.ig-secret
    """
    from igtoken._models import FlowKind
    from igtoken.cli._output import print_json

    record = app.vault.get_app(name)
    secret = read_secret(secret_file, secret_env, prompt=f"New app secret for {record.name}")
    app.vault.set_app_secret(record.id, secret, now=app.now())
    if record.flow_kind is FlowKind.FACEBOOK_LOGIN:
        app.vault.set_app_secret(record.id, secret, now=app.now(), meta=True)
    if app.json:
        print_json({"updated": record.name})
        return
    click.echo(f"Replaced the secret of app {record.name!r}. Check it: igtoken doctor --app {record.name}")
