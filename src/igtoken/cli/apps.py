"""``igtoken apps add|list|update|remove|set-secret``: the Meta apps igtoken acts for.

Redirect URIs must be https: Meta refuses plain http except for loopback addresses
(``127.0.0.1``, ``localhost``, ``[::1]``), which ``igtoken login`` receives on itself; with
``IGTOKEN_DEV=1`` any http URI is accepted (a local service behind plain http).

The app secret is never taken from a command-line argument (it would land in shell history
and ``ps``): it is read from a prompt, a file (``--secret-file``) or an environment variable
(``--secret-env``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from igtoken.cli._context import AppContext, json_option, pass_ctx
from igtoken.cli._options import (
    app_id_option,
    config_id_option,
    flow_option,
    redirect_uris_option,
    scopes_option,
)

F = TypeVar("F", bound=Callable[..., Any])

if TYPE_CHECKING:
    from igtoken.core.models import FlowKind
    from igtoken.core.secret import Secret
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
        "config_id": app.config_id,
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
      igtoken apps update shop --scope instagram_business_basic
      igtoken apps remove shop
    """


_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def check_redirect_uris(uris: tuple[str, ...] | list[str], *, dev: bool) -> list[str]:
    """The redirect URIs, refused unless https (or http on a loopback host, or any http with dev)."""
    from urllib.parse import urlsplit

    from igtoken.core.exceptions import ConfigurationError

    checked: list[str] = []
    for uri in uris:
        parts = urlsplit(uri.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                f"redirect URI {uri!r} is not an absolute http(s) URL",
                fix="give it exactly as registered with Meta, e.g. https://example.com/ig/callback",
            )
        if parts.fragment:
            raise ConfigurationError(
                f"redirect URI {uri!r} has a #fragment, which Meta does not allow",
                fix="drop the part from '#'",
            )
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS and not dev:
            raise ConfigurationError(
                f"redirect URI {uri!r} is plain http: Meta accepts only https (loopback addresses aside)",
                fix=f"use https://{uri.strip()[len('http://') :]} , a loopback URI such as "
                "http://127.0.0.1:8765/callback, or set IGTOKEN_DEV=1 for local development",
            )
        checked.append(uri.strip())
    return checked


def checked_scopes(names: tuple[str, ...] | list[str], flow: FlowKind) -> list[str]:
    """Scope names checked against the app's login product: the two use different names.

    An Instagram Login name on a Facebook Login app (or the reverse) is refused with the name to use
    instead, and the ``--flow`` that would take it as given.
    """
    from igtoken.core.exceptions import ScopeError
    from igtoken.core.models import FlowKind
    from igtoken.instagram.scopes import check_scopes, split_scopes

    given = split_scopes(names)
    if not given:
        return []
    try:
        if flow is FlowKind.FACEBOOK_LOGIN:
            from igtoken.facebook.scopes import check_facebook_scopes

            return list(check_facebook_scopes(given))
        return list(check_scopes(given))
    except ScopeError as exc:
        other = "instagram_login" if flow is FlowKind.FACEBOOK_LOGIN else "facebook_login"
        product = "Facebook Login" if flow is FlowKind.FACEBOOK_LOGIN else "Instagram Login"
        fix = exc.fix.split("; or use Instagram Login", 1)[0]
        raise ScopeError(
            f"{exc.message} (this app uses {product})",
            scope=exc.scope,
            replacement=exc.replacement,
            fix=f"{fix}; or, if the app really uses the other product, register it with --flow {other}",
        ) from None


def check_config_id(config_id: str | None, flow: FlowKind) -> str | None:
    """A Facebook Login for Business configuration id: digits, and only for Facebook Login apps."""
    from igtoken.core.exceptions import ConfigurationError
    from igtoken.core.models import FlowKind

    if config_id is None:
        return None
    value = config_id.strip()
    if flow is not FlowKind.FACEBOOK_LOGIN:
        raise ConfigurationError(
            "--config-id is a Facebook Login for Business setting; this app uses Instagram Login",
            fix="drop --config-id, or register the app with --flow facebook_login",
        )
    if not (value.isascii() and value.isdigit() and len(value) <= 32):
        raise ConfigurationError(
            f"the config id must be the configuration's numeric id, got {config_id!r}",
            fix="copy it from the App Dashboard: Facebook Login for Business > Configurations",
        )
    return value


def secret_options(func: F) -> F:
    """``--secret-file`` and ``--secret-env``, the two ways besides the prompt to give an app secret
    (read with :func:`read_secret`)."""
    func = click.option(
        "--secret-env", metavar="VAR", help="Read the app secret from this environment variable."
    )(func)
    return click.option(
        "--secret-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Read the app secret from this file.",
    )(func)


def read_secret(secret_file: Path | None, secret_env: str | None, *, prompt: str) -> Secret:
    """The app secret from a file, an environment variable, or a hidden prompt (in that order)."""
    from igtoken.core.exceptions import ConfigurationError
    from igtoken.core.secret import Secret

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
@app_id_option(required=True)
@redirect_uris_option("A redirect URI exactly as registered with Meta (repeatable).", required=True)
@flow_option(default="instagram_login", help_text="Which Meta login product the app uses.")
@scopes_option("Default scope to request (repeatable).")
@config_id_option(
    "Facebook Login for Business: the configuration to open the dialog with (instead of scopes)."
)
@secret_options
@json_option
@pass_ctx
def add(
    app: AppContext,
    name: str,
    app_id: str,
    redirect_uris: tuple[str, ...],
    flow: str,
    scopes: tuple[str, ...],
    config_id: str | None,
    secret_file: Path | None,
    secret_env: str | None,
) -> None:
    """Register a Meta app; the secret is prompted for unless --secret-file or --secret-env is given.

    \b
    Examples:
      igtoken apps add shop --app-id 990602627938098 --redirect-uri https://localhost:8443/callback
      igtoken apps add shop --app-id 990602627938098 --secret-file ~/.ig-secret \\
          --redirect-uri http://127.0.0.1:8765/callback --scope instagram_business_basic
      igtoken apps add fb --flow facebook_login --app-id 770600000000001 --config-id 987654321 \\
          --redirect-uri https://tokens.example.com/oauth/callback
    """
    from igtoken.cli._output import print_json
    from igtoken.core.exceptions import ConfigurationError
    from igtoken.core.models import FlowKind

    if not app_id.isdigit():
        raise ConfigurationError(
            f"the app id must be digits, got {app_id!r}",
            fix="copy the Instagram app id from the app dashboard "
            "(Instagram > API setup with Instagram login)",
        )
    kind = FlowKind(flow)
    names = checked_scopes(scopes, kind)
    config = check_config_id(config_id, kind)
    uris = check_redirect_uris(redirect_uris, dev=app.settings.dev)
    secret = read_secret(secret_file, secret_env, prompt=f"App secret for {name}")
    record = app.vault.add_app(
        name,
        instagram_app_id=app_id,
        app_secret=secret,
        redirect_uris=uris,
        now=app.now(),
        default_scopes=names,
        flow_kind=kind,
        meta_app_id=app_id if kind is FlowKind.FACEBOOK_LOGIN else None,
        meta_app_secret=secret if kind is FlowKind.FACEBOOK_LOGIN else None,
        config_id=config,
    )
    if app.json:
        print_json(app_json(record))
        return
    click.echo(f"Registered app {record.name!r} ({record.flow_kind.value}, app id {app_id}).")
    click.echo(
        f"Next: {_cmd(app, 'login')} --app {record.name}   "
        f"(and `{_cmd(app, 'doctor')} --app {record.name}` to check it)"
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
    from igtoken.cli._output import print_result

    record = app.vault.get_app(name)
    if not yes and not app.json:
        click.confirm(f"Remove app {record.name!r} and its stored secret?", abort=True, err=True)
    app.vault.remove_app(record.id, now=app.now())
    print_result(app.json, {"removed": record.name}, f"Removed app {record.name!r}.")


@apps.command("set-secret")
@click.argument("name")
@secret_options
@json_option
@pass_ctx
def set_secret(app: AppContext, name: str, secret_file: Path | None, secret_env: str | None) -> None:
    """Replace an app's secret (prompted for unless --secret-file or --secret-env is given).

    \b
    Examples:
      igtoken apps set-secret shop
      igtoken apps set-secret shop --secret-file ~/.ig-secret
    """
    from igtoken.cli._output import print_result
    from igtoken.core.models import FlowKind

    record = app.vault.get_app(name)
    secret = read_secret(secret_file, secret_env, prompt=f"New app secret for {record.name}")
    app.vault.set_app_secret(record.id, secret, now=app.now())
    if record.flow_kind is FlowKind.FACEBOOK_LOGIN:
        app.vault.set_app_secret(record.id, secret, now=app.now(), meta=True)
    print_result(
        app.json,
        {"updated": record.name},
        f"Replaced the secret of app {record.name!r}. Check it: igtoken doctor --app {record.name}",
    )


@apps.command("update")
@click.argument("name")
@scopes_option("Default scope to request (repeatable): replaces the list.")
@click.option("--add-scope", "add_scopes", multiple=True, help="Add a default scope (repeatable).")
@click.option("--remove-scope", "remove_scopes", multiple=True, help="Drop a default scope (repeatable).")
@redirect_uris_option("A redirect URI exactly as registered with Meta (repeatable): replaces the list.")
@click.option("--add-redirect-uri", "add_uris", multiple=True, help="Add a redirect URI (repeatable).")
@click.option("--remove-redirect-uri", "remove_uris", multiple=True, help="Drop a redirect URI (repeatable).")
@config_id_option("Facebook Login for Business: open the dialog with this configuration (instead of scopes).")
@click.option("--remove-config-id", is_flag=True, help="Open the dialog with the scopes again.")
@click.option(
    "--secret-file", type=click.Path(dir_okay=False, path_type=Path), help="New app secret from this file."
)
@click.option("--secret-env", metavar="VAR", help="New app secret from this environment variable.")
@click.option("--prompt-secret", is_flag=True, help="Prompt for a new app secret.")
@json_option
@pass_ctx
def update(
    app: AppContext,
    name: str,
    scopes: tuple[str, ...],
    add_scopes: tuple[str, ...],
    remove_scopes: tuple[str, ...],
    redirect_uris: tuple[str, ...],
    add_uris: tuple[str, ...],
    remove_uris: tuple[str, ...],
    config_id: str | None,
    remove_config_id: bool,
    secret_file: Path | None,
    secret_env: str | None,
    prompt_secret: bool,
) -> None:
    """Change an app's default scopes, redirect URIs or secret (what is not given stays).

    Accounts keep what they were granted until they log in again: after dropping scopes,
    re-authorize them (`igtoken login --app NAME`), and make the same change in the App
    Dashboard (Meta checks redirect URIs byte for byte).

    \b
    Examples:
      igtoken apps update shop --scope instagram_business_basic
      igtoken apps update shop --remove-scope instagram_business_manage_messages
      igtoken apps update shop --add-redirect-uri https://shop.example.com/ig/callback
      igtoken apps update shop --secret-file ~/.ig-secret
      igtoken apps update fb --config-id 987654321
    """
    from igtoken.cli._output import print_json
    from igtoken.core.models import FlowKind
    from igtoken.instagram.scopes import split_scopes
    from igtoken.vault.apps import KEEP, Keep

    vault = app.vault
    record = vault.get_app(name)
    facebook = record.flow_kind is FlowKind.FACEBOOK_LOGIN
    if scopes and (add_scopes or remove_scopes):
        raise click.UsageError("give --scope (the whole list) or --add-scope/--remove-scope, not both")
    if redirect_uris and (add_uris or remove_uris):
        raise click.UsageError(
            "give --redirect-uri (the whole list) or --add-redirect-uri/--remove-redirect-uri, not both"
        )
    new_scopes: list[str] | None = None
    if scopes or add_scopes or remove_scopes:
        current = list(split_scopes(scopes)) if scopes else list(record.default_scopes)
        current += [s for s in split_scopes(add_scopes) if s not in current]
        dropped = set(split_scopes(remove_scopes))
        new_scopes = checked_scopes([s for s in current if s not in dropped], record.flow_kind)
    if config_id is not None and remove_config_id:
        raise click.UsageError("give --config-id or --remove-config-id, not both")
    new_config: str | Keep | None = KEEP
    if config_id is not None:
        new_config = check_config_id(config_id, record.flow_kind)
    elif remove_config_id:
        new_config = None
    new_uris: list[str] | None = None
    if redirect_uris or add_uris or remove_uris:
        from igtoken.core.exceptions import ConfigurationError

        current_uris = list(redirect_uris) if redirect_uris else list(record.redirect_uris)
        current_uris += [u for u in add_uris if u not in current_uris]
        unknown = [u for u in remove_uris if u not in current_uris]
        if unknown:
            raise ConfigurationError(
                f"app {record.name!r} has no redirect URI {unknown[0]!r}",
                fix=f"its redirect URIs: {', '.join(record.redirect_uris) or 'none'}",
            )
        new_uris = check_redirect_uris(
            [u for u in current_uris if u not in remove_uris], dev=app.settings.dev
        )
        if not new_uris:
            raise ConfigurationError(
                f"app {record.name!r} would have no redirect URI left",
                fix="keep at least one (igtoken login and connect links need one)",
            )
    wants_secret = prompt_secret or secret_file is not None or secret_env is not None
    if new_scopes is None and new_uris is None and new_config is KEEP and not wants_secret:
        raise click.UsageError("nothing to change: give --scope, --redirect-uri, --config-id or a new secret")
    now = app.now()
    if wants_secret:
        secret = read_secret(secret_file, secret_env, prompt=f"New app secret for {record.name}")
        vault.set_app_secret(record.id, secret, now=now)
        if facebook:
            vault.set_app_secret(record.id, secret, now=now, meta=True)
    if new_scopes is not None or new_uris is not None or new_config is not KEEP:
        vault.update_app(
            record.id,
            now=now,
            redirect_uris=new_uris,
            default_scopes=new_scopes,
            config_id=new_config,
        )
    updated = vault.get_app(record.id)
    if app.json:
        print_json(app_json(updated))
        return
    changed = []
    if new_scopes is not None:
        changed.append(f"default scopes: {', '.join(updated.default_scopes) or '(the default)'}")
    if new_uris is not None:
        changed.append(f"redirect URIs: {', '.join(updated.redirect_uris)}")
    if new_config is not KEEP:
        changed.append(f"config id: {updated.config_id}" if updated.config_id else "config id removed")
    if wants_secret:
        changed.append("secret replaced")
    click.echo(f"Updated app {record.name!r}: " + "; ".join(changed) + ".")
    click.echo(
        f"Next: {_cmd(app, 'doctor')} --app {record.name}   (then re-authorize its accounts: "
        f"{_cmd(app, 'login')} --app {record.name})"
    )


def _cmd(app: AppContext, verb: str) -> str:
    from igtoken.cli._accounts import command_for

    return command_for(verb, sandbox=app.sandbox)
