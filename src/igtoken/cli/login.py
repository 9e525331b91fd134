"""``igtoken login``: connect an Instagram account, from the authorize URL to a token in the vault.

Both of Meta's login products go the same way; the app's flow kind picks the dialog:
Instagram Login (``www.instagram.com/oauth/authorize``) stores one account with its
60-day token; Facebook Login (``www.facebook.com/dialog/oauth``) stores one account per
Facebook Page that has a linked Instagram account, with its page token (never expires)
and the 60-day user token it came from, and names the Pages it could not use.

The redirect comes back one of two ways:

- on a :class:`~igtoken.cli._loopback.LoopbackReceiver` when the app's redirect URI is a
  loopback one (``http(s)://127.0.0.1:PORT/…`` or ``localhost``): HTTPS with a certificate made
  on the fly when the URI says https;
- pasted by hand (``--paste``, or any other redirect URI): the person copies the final URL from
  the browser's address bar; a trailing ``#_`` is stripped.

Then the code is exchanged, the short-lived token swapped for a 60-day one, the profile read,
and all of it stored. ``--sandbox`` does the same against the emulator's demo world, served on
loopback for the length of the command; without a browser it approves as a demo account itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import click

from igtoken.cli._context import AppContext, json_option, pass_ctx
from igtoken.cli._options import (
    config_id_option,
    scopes_option,
)

if TYPE_CHECKING:
    from igtoken.cli._loopback import LoopbackReceiver
    from igtoken.core.config import ClientConfig
    from igtoken.core.models import LoginResult
    from igtoken.facebook.models import FacebookLoginResult
    from igtoken.refresh.facebook_accounts import FacebookConnection
    from igtoken.vault import AccountRecord, AppRecord


@click.command("login")
@click.option("--app", "app_name", metavar="NAME", help="The registered app to log in with.")
@click.option("--paste", is_flag=True, help="Paste the final redirected URL instead of receiving it.")
@click.option("--no-browser", is_flag=True, help="Print the URL instead of opening a browser.")
@click.option(
    "--sandbox", is_flag=True, help="Log in to the emulator's demo world (same as the global flag)."
)
@click.option(
    "--account",
    "demo_account",
    default=None,
    help="Sandbox only: the demo account to approve as when no browser is used "
    "(default: demo_business, or demo_fb_user for a Facebook Login app).",
)
@click.option(
    "--decline",
    "declines",
    multiple=True,
    metavar="PERMISSION",
    help="Sandbox only, Facebook Login: untick this permission in the emulator's dialog (repeatable).",
)
@scopes_option("Scope to request (repeatable). Default: the app's.")
@config_id_option(
    "Facebook Login for Business: open the dialog with this configuration (default: the app's)."
)
@click.option(
    "--rerequest",
    is_flag=True,
    help="Facebook Login: ask again for permissions the person declined before (auth_type=rerequest).",
)
@click.option(
    "--redirect-uri", help="Which of the app's registered redirect URIs to use (default: the first)."
)
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait for the redirect.")
@click.option("--show-token", is_flag=True, help="Print the token in full instead of masked.")
@click.option(
    "--with-token",
    is_flag=True,
    help="Adopt a token you already have, read from stdin: checked with Meta, stored, kept refreshed.",
)
@json_option
@pass_ctx
def login(
    app: AppContext,
    app_name: str | None,
    paste: bool,
    no_browser: bool,
    sandbox: bool,
    demo_account: str | None,
    declines: tuple[str, ...],
    scopes: tuple[str, ...],
    config_id: str | None,
    rerequest: bool,
    redirect_uri: str | None,
    timeout: float,
    show_token: bool,
    with_token: bool,
) -> None:
    """Connect an Instagram account: authorize in the browser, store its token.

    Instagram Login apps store a 60-day token; Facebook Login apps store one account per
    Facebook Page with a linked Instagram account, with its page token (never expires).

    \b
    Examples:
      igtoken login --sandbox                   # try it: the emulator's demo world, no Meta app needed
      igtoken login --sandbox --account demo_creator
      igtoken login --sandbox --app demo-facebook   # Facebook Login: one account per linked Page
      igtoken login --app fb --rerequest        # ask again for a permission the person declined
      igtoken login --app shop                  # opens the browser, waits on the loopback redirect URI
      igtoken login --app shop --paste          # paste the final URL from the address bar
      igtoken login --app shop --no-browser     # print the URL (e.g. over SSH)
      printf %s "$IG_TOKEN" | igtoken login --with-token --app shop   # adopt a 60-day token
    """
    from igtoken.core.models import FlowKind, LoginResult

    if sandbox:
        app.use_sandbox()
    record = _pick_app(app, app_name)
    facebook = record.flow_kind is FlowKind.FACEBOOK_LOGIN
    if with_token:
        _adopt(app, record, facebook=facebook, show_token=show_token)
        return
    requested = _requested_scopes(record, scopes, facebook=facebook)
    if (declines or rerequest or config_id) and not facebook:
        raise click.UsageError("--decline, --rerequest and --config-id are for Facebook Login apps only")
    if config_id is not None and scopes:
        raise click.UsageError(
            "give --scope or --config-id, not both (a configuration fixes the permissions)"
        )
    if config_id is not None:
        from igtoken.cli.apps import check_config_id

        config_id = check_config_id(config_id, record.flow_kind)
    elif facebook and not scopes:
        config_id = record.config_id  # the app's Login for Business configuration, unless --scope says
    if declines and not app.runtime.sandbox:
        raise click.UsageError("--decline plays the emulator's dialog: use it with --sandbox")
    if facebook and not rerequest:
        rerequest = _declined_before(app, record, requested)
    if demo_account is None:
        from igtoken.emulator import demo

        demo_account = demo.DEMO_FB_USER if facebook else demo.DEMO_BUSINESS
    with _session(app, record, redirect_uri=redirect_uri, paste=paste, timeout=timeout) as (
        config,
        receiver,
        state,
    ):
        result = _authorize_and_login(
            app,
            config,
            receiver,
            state=state,
            scopes=requested,
            paste=paste,
            no_browser=no_browser,
            demo_account=demo_account,
            facebook=facebook,
            declines=declines,
            rerequest=rerequest,
            config_id=config_id,
        )
    if isinstance(result, LoginResult):
        account = _store(app, record, result)
        _report(app, record, account, result, show_token=show_token)
        return
    connection = _store_facebook(app, record, result)
    _report_facebook(app, record, connection, show_token=show_token)


def _adopt(app: AppContext, record: AppRecord, *, facebook: bool, show_token: bool) -> None:
    """``--with-token``: check the token on stdin with Meta, then store and report it as a login."""
    import sys

    from igtoken.cli._accounts import login_command
    from igtoken.cli._adopt import adopt_facebook_token, adopt_instagram_token, read_token_from_stdin
    from igtoken.cli._meta import meta_link
    from igtoken.client.clients import Client

    if sys.stdin.isatty():
        text = click.prompt("Paste the access token", hide_input=True, err=True)
    else:
        text = sys.stdin.read()
    value = read_token_from_stdin(text)
    runtime, now = app.runtime, app.now()
    relogin = login_command(record, sandbox=runtime.sandbox)
    with meta_link(runtime) as link:
        config = runtime.client_config(record, endpoints=link.endpoints)
        with Client(config, http=link.http) as client:
            if facebook:
                result = adopt_facebook_token(client, record, value, now=now, relogin=relogin)
            else:
                login_result = adopt_instagram_token(client, value, now=now, relogin=relogin)
    if facebook:
        connection = _store_facebook(app, record, result)
        _report_facebook(app, record, connection, show_token=show_token)
        return
    account = _store(app, record, login_result)
    _report(app, record, account, login_result, show_token=show_token, adopted=True)


def _requested_scopes(record: AppRecord, scopes: tuple[str, ...], *, facebook: bool) -> tuple[str, ...]:
    """The scopes to ask for, checked against the app's product (the two use different names)."""
    from igtoken.instagram.scopes import split_scopes

    given = split_scopes(scopes) or record.default_scopes
    if facebook:
        from igtoken.facebook.scopes import DEFAULT_FACEBOOK_SCOPES, check_facebook_scopes

        return check_facebook_scopes(given or DEFAULT_FACEBOOK_SCOPES)
    from igtoken.instagram.scopes import DEFAULT_SCOPES, check_scopes

    return check_scopes(given or DEFAULT_SCOPES)


def _declined_before(app: AppContext, record: AppRecord, requested: tuple[str, ...]) -> bool:
    """Whether an account of this app was stored without a permission asked for now.

    Facebook offers a declined permission again only with ``auth_type=rerequest``, so the
    login then sends it by itself (as ``--rerequest`` does).
    """
    for account in app.vault.list_accounts(app=record.id):
        lacking = [s for s in requested if s not in account.scopes]
        if account.scopes and lacking:
            click.echo(
                f"@{account.username} was connected without {', '.join(lacking)}: "
                "asking Facebook to offer it again (auth_type=rerequest).",
                err=True,
            )
            return True
    return False


def _pick_app(app: AppContext, name: str | None) -> AppRecord:
    from igtoken.app.runtime import SANDBOX_APP
    from igtoken.core.exceptions import AmbiguousError, NotFoundError

    vault = app.vault
    if name is not None:
        return vault.get_app(name)
    if app.runtime.sandbox:
        return vault.get_app(SANDBOX_APP)
    records = vault.list_apps()
    if len(records) == 1:
        return records[0]
    if not records:
        raise NotFoundError(
            "no app is registered yet",
            fix="register one with `igtoken apps add NAME --app-id ID --redirect-uri URL`, "
            "or try the demo: igtoken login --sandbox",
        )
    raise AmbiguousError(
        f"{len(records)} apps are registered: {', '.join(r.name for r in records)}",
        fix=f"say which one: igtoken login --app {records[0].name}",
    )


def _is_loopback(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and parts.hostname in ("127.0.0.1", "localhost")


@contextlib.contextmanager
def _session(
    app: AppContext, record: AppRecord, *, redirect_uri: str | None, paste: bool, timeout: float
) -> Iterator[tuple[ClientConfig, LoopbackReceiver | None, str]]:
    """The client configuration, the receiver (``None`` when pasting) and the ``state`` of this login."""
    from igtoken.cli._loopback import LoopbackReceiver
    from igtoken.instagram.authorize import new_state

    runtime = app.runtime
    state = new_state()
    if runtime.sandbox and not runtime.settings.meta_base_url:
        from igtoken.emulator import demo
        from igtoken.sandbox import SandboxEmulator

        if paste:
            uri = redirect_uri or demo.DEMO_REDIRECT_URIS[2]
            with SandboxEmulator().serve(redirect_uris=[uri]) as running:
                config = runtime.client_config(
                    record, endpoints=runtime.endpoints(sandbox_url=running.url), redirect_uri=uri
                )
                yield config, None, state
            return
        with (
            LoopbackReceiver("http://127.0.0.1:0/callback", state=state, timeout=timeout) as receiver,
            # The receiver's port is new each time: the emulator accepts it for this login only (a
            # lease), and the vault's demo app is left as it is.
            SandboxEmulator().serve(redirect_uris=[receiver.redirect_uri]) as running,
        ):
            config = runtime.client_config(
                record,
                endpoints=runtime.endpoints(sandbox_url=running.url),
                redirect_uri=receiver.redirect_uri,
            )
            yield config, receiver, state
        return
    config = runtime.client_config(record, endpoints=runtime.endpoints(), redirect_uri=redirect_uri)
    uri = config.app.redirect_uri
    if paste or not _is_loopback(uri):
        yield config, None, state
        return
    with LoopbackReceiver(uri, state=state, timeout=timeout) as receiver:
        yield config, receiver, state


def _authorize_and_login(
    app: AppContext,
    config: ClientConfig,
    receiver: LoopbackReceiver | None,
    *,
    state: str,
    scopes: tuple[str, ...],
    paste: bool,
    no_browser: bool,
    demo_account: str,
    facebook: bool,
    declines: tuple[str, ...] = (),
    rerequest: bool = False,
    config_id: str | None = None,
) -> LoginResult | FacebookLoginResult:
    """Send the person to the dialog of the app's product, take the redirect back, finish the login.

    With ``config_id`` (Facebook Login for Business) the dialog is opened with that configuration,
    which fixes the permissions; ``scopes`` are then only what the login is checked against.
    """
    import httpx

    from igtoken.cli._browser import default_opener, is_interactive, present_url
    from igtoken.cli._loopback import parse_pasted_url
    from igtoken.client.clients import Client

    with httpx.Client(timeout=config.timeout) as http, Client(config, http=http) as client:
        if facebook:
            url = client.facebook_authorization_url(
                state=state,
                scopes=None if config_id else scopes,
                config_id=config_id,
                auth_type="rerequest" if rerequest else None,
            )
        else:
            url = client.authorization_url(state=state, scopes=scopes)
        interactive = app.interactive if app.interactive is not None else is_interactive()
        sandbox = app.runtime.sandbox
        if receiver is not None and sandbox and (no_browser or not interactive):
            click.echo(f"Sandbox: approving as {demo_account} in the emulator (no browser).", err=True)
            _approve_in_emulator(
                http, url, demo_account, verify=receiver.certificate_pem is None, declines=declines
            )
        else:
            present_url(
                url,
                no_browser=no_browser,
                interactive=interactive,
                opener=app.opener or default_opener,
            )
        if receiver is not None:
            click.echo(f"Waiting for the redirect on {receiver.redirect_uri} …", err=True)
            callback = receiver.wait()
        else:
            pasted = click.prompt("After approving, paste the full URL your browser was sent to", err=True)
            callback = parse_pasted_url(pasted, config.app.redirect_uri)
        if facebook:
            return client.facebook_login(callback, expected_state=state, requested_scopes=scopes)
        return client.login(callback, expected_state=state, requested_scopes=scopes)


def _approve_in_emulator(
    http: Any, authorize_url: str, account: str, *, verify: bool, declines: tuple[str, ...] = ()
) -> None:
    """Play the browser against the emulator: approve as ``account`` (unticking ``declines``)."""
    from igtoken.core.exceptions import ConfigurationError

    fields = {"emulator_account": account, "emulator_decision": "approve"}
    if declines:
        fields["emulator_decline"] = ",".join(declines)
    shortcut = urlencode(fields)
    answer = http.get(f"{authorize_url}&{shortcut}", follow_redirects=False)
    location = answer.headers.get("location")
    if answer.status_code not in (302, 303) or not location:
        if answer.status_code >= 400:  # the dialog refused the app's settings (redirect URI, config id)
            import re

            page = re.sub(r"(?is)<(head|style|script)\b.*?</\1>", " ", answer.text)
            said = " ".join(re.sub(r"<[^>]+>", " ", page).split())[:300]
            raise ConfigurationError(
                f"the sandbox dialog refused the login: {said}",
                fix="check the app with `igtoken --sandbox doctor --app NAME`",
            )
        raise ConfigurationError(
            f"the sandbox emulator did not approve the login as {account!r} (HTTP {answer.status_code})",
            fix="pick a demo account: --account demo_business or --account demo_creator "
            "(Instagram Login), --account demo_fb_user (Facebook Login)",
        )
    import httpx

    with httpx.Client(timeout=10.0, verify=verify) as browser:
        browser.get(location.split("#", 1)[0])


def _store(app: AppContext, record: AppRecord, result: LoginResult) -> AccountRecord:
    from igtoken.refresh import next_refresh_at

    now = app.now()
    token = result.token
    account = app.vault.save_login(
        record.id, result.profile, token, now=now, scopes=result.granted_scopes or token.scopes
    )
    app.vault.set_next_refresh(
        account.id, next_refresh_at(token.issued_at, account.id, expires_at=token.expires_at)
    )
    return account


def _report(
    app: AppContext,
    record: AppRecord,
    account: AccountRecord,
    result: LoginResult,
    *,
    show_token: bool,
    adopted: bool = False,
) -> None:
    from igtoken.cli._output import mask_token, print_json

    token = result.token
    if app.json:
        print_json(
            {
                "account": {
                    "id": account.id,
                    "username": account.username,
                    "ig_user_id": account.ig_user_id,
                    "account_type": account.account_type,
                    "app": record.name,
                    "scopes": list(account.scopes),
                },
                "token": mask_token(token.value, show=show_token),
                "expires_at": token.expires_at,
                "missing_scopes": list(result.missing_scopes),
            }
        )
        return
    kind = account.account_type.value if account.account_type else "unknown type"
    if adopted:
        click.echo(
            f"Adopted the token of @{account.username} ({kind}) for app {record.name!r}; "
            "igtoken keeps it fresh."
        )
    else:
        click.echo(f"Logged in as @{account.username} ({kind}) with app {record.name!r}.")
    click.echo(
        f"Token {mask_token(token.value, show=show_token)}, "
        f"valid until {token.expires_at:%Y-%m-%d %H:%M} UTC."
    )
    if result.missing_scopes:
        click.echo(f"Not granted: {', '.join(result.missing_scopes)} (the person unticked them).", err=True)
    command = _token_command(app, record, account)
    click.echo(f'Next: {command}   (e.g. curl -H "Authorization: Bearer $({command})" …)')


def _store_facebook(app: AppContext, record: AppRecord, result: FacebookLoginResult) -> FacebookConnection:
    """Store every linked Page; without one, nothing is stored and the person is told why."""
    from igtoken.core.exceptions import AuthorizationError
    from igtoken.refresh.facebook_accounts import first_check_at, summarize_facebook_login

    now = app.now()
    accounts = app.vault.save_facebook_login(record.id, result, now=now, next_check_at=first_check_at(now))
    connection = summarize_facebook_login(result, accounts)
    if not connection.accounts:
        names = connection.unlinked_names()
        found = f"Pages found: {', '.join(names)}" if names else "no Page came back"
        raise AuthorizationError(
            f"the Facebook login connected no Instagram account ({found})",
            fix=connection.hint or "link an Instagram professional account to one of the Pages",
        )
    return connection


def _report_facebook(
    app: AppContext, record: AppRecord, connection: FacebookConnection, *, show_token: bool
) -> None:
    from igtoken.cli._output import mask_token, print_json
    from igtoken.core.models import TokenKind

    tokens = {a.id: app.vault.current_token(a.id, TokenKind.FB_PAGE).token for a in connection.accounts}
    if app.json:
        print_json(
            {
                "accounts": [
                    {
                        "id": a.id,
                        "username": a.username,
                        "ig_user_id": a.ig_user_id,
                        "account_type": a.account_type,
                        "app": record.name,
                        "page_id": a.page_id,
                        "page_name": a.page_name,
                        "scopes": list(a.scopes),
                        "token": mask_token(tokens[a.id].value, show=show_token),
                        "expires_at": None,
                    }
                    for a in connection.accounts
                ],
                "unlinked_pages": [{"id": p.page_id, "name": p.page_name} for p in connection.unlinked_pages],
                "user_token_expires_at": connection.user_token_expires_at,
                "data_access_expires_at": connection.data_access_expires_at,
                "missing_scopes": list(connection.missing_scopes),
                "business_management_hint": connection.business_management_hint,
            }
        )
        return
    for a in connection.accounts:
        click.echo(
            f"Connected @{a.username} through the Page {a.page_name or a.page_id!r} with app {record.name!r}."
        )
        click.echo(f"Page token {mask_token(tokens[a.id].value, show=show_token)}, never expires.")
    for name in connection.unlinked_names():
        click.echo(f"Page {name!r} has no linked Instagram professional account; not connected.", err=True)
    if connection.user_token_expires_at is not None:
        click.echo(
            f"The Facebook user token it came from is valid until "
            f"{connection.user_token_expires_at:%Y-%m-%d %H:%M} UTC"
            + (
                f"; data access lasts until {connection.data_access_expires_at:%Y-%m-%d} UTC."
                if connection.data_access_expires_at
                else "."
            )
        )
    if connection.missing_scopes:
        click.echo(
            f"Not granted: {', '.join(connection.missing_scopes)} (the person unticked them).", err=True
        )
    if connection.business_management_hint:
        click.echo(f"Note: {connection.business_management_hint}.", err=True)
    click.echo(f"Next: {_token_command(app, record, connection.accounts[0])}")


def _token_command(app: AppContext, record: AppRecord, account: AccountRecord) -> str:
    """The ``igtoken token …`` that prints this account's token, as short as still unambiguous."""
    from igtoken.cli._accounts import account_args, command_for

    args = account_args(app.vault.list_accounts(), account, record.name)
    return command_for("token", args, sandbox=app.runtime.sandbox)
