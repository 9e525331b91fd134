"""``igtoken setup``: a step-by-step guide to the Meta app, then a live check and the app saved.

For Instagram Login and for Facebook Login for Business it shows, step by step, what to click in
Meta's App Dashboard and the exact values to paste (the redirect URI, the deauthorize URL and the
data-deletion URL, derived from ``IGTOKEN_PUBLIC_URL``), asks for the app id and secret, refuses
what Meta would refuse later (with the fix), checks the id and secret live (an app token or a
harmless Graph call; in sandbox against the emulator) and only then saves the app.

Interactive at a terminal; with ``--app-id`` and ``--secret-file``/``--secret-env`` (or
``--yes``) it asks nothing, for scripts. ``--json`` prints one document.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from igtoken.cli._context import AppContext, json_option, pass_ctx
from igtoken.cli._options import (
    FLOWS,
    app_id_option,
    flow_option,
    redirect_uris_option,
    scopes_option,
)

if TYPE_CHECKING:
    from igtoken.app.meta_setup import Check, MetaUrls, Step
    from igtoken.core.secret import Secret

#: Where a sandbox service listens by default, so the derived redirect URI is one the demo app knows.
SANDBOX_PUBLIC_URL = "http://127.0.0.1:8000"
#: How many times a person at the terminal may re-enter an app id or secret Meta refused.
MAX_ATTEMPTS = 3


@click.command("setup")
@flow_option(
    default=None, help_text="Which Meta login product (asked for at a terminal; default instagram_login)."
)
@click.option("--name", default=None, help="The name igtoken gives the app (default: main).")
@app_id_option(required=False)
@click.option(
    "--public-url", default=None, help="Where the service is reached (default: IGTOKEN_PUBLIC_URL)."
)
@redirect_uris_option(
    "Register this redirect URI instead of the one derived from the public URL (repeatable)."
)
@scopes_option("Default scope to request (repeatable).")
@click.option(
    "--secret-file", type=click.Path(dir_okay=False, path_type=Path), help="Read the app secret here."
)
@click.option("--secret-env", metavar="VAR", help="Read the app secret from this environment variable.")
@click.option("--guide-only", is_flag=True, help="Print the steps and the values to paste; save nothing.")
@click.option(
    "--yes", "assume_yes", is_flag=True, help="Ask nothing: take the defaults for what is not given."
)
@click.option("--sandbox", "sandbox_flag", is_flag=True, help="Set up against the built-in emulator.")
@json_option
@pass_ctx
def setup(
    app: AppContext,
    flow: str | None,
    name: str | None,
    app_id: str | None,
    public_url: str | None,
    redirect_uris: tuple[str, ...],
    scopes: tuple[str, ...],
    secret_file: Path | None,
    secret_env: str | None,
    guide_only: bool,
    assume_yes: bool,
    sandbox_flag: bool,
) -> None:
    """Walk through the Meta App Dashboard, check the app id and secret live, and register the app.

    \b
    Examples:
      igtoken setup                                   # step by step, at a terminal
      igtoken setup --sandbox --yes                   # against the emulator's demo app
      igtoken setup --flow facebook_login --guide-only
      IG_SECRET=… igtoken setup --name shop --app-id 990602627938098 --secret-env IG_SECRET \\
          --public-url https://tokens.example.com --json
    """
    from igtoken.app.meta_setup import check_values, guide, meta_urls
    from igtoken.cli._browser import is_interactive
    from igtoken.core.models import FlowKind

    if sandbox_flag:
        app.use_sandbox()
    sandbox = app.sandbox
    settings = app.settings
    interactive = app.interactive if app.interactive is not None else is_interactive()
    asks = interactive and not app.json and not assume_yes
    if flow is None:
        flow = (
            click.prompt(
                "Which login? instagram_login (no Facebook Page needed) or facebook_login",
                type=click.Choice(FLOWS),
                default="instagram_login",
                err=True,
            )
            if asks
            else "instagram_login"
        )
    kind = FlowKind(flow)
    public_url = public_url or settings.public_url or (SANDBOX_PUBLIC_URL if sandbox else None)
    if public_url is None and not redirect_uris:
        if asks:
            public_url = click.prompt("The service's public https URL (IGTOKEN_PUBLIC_URL)", err=True)
        else:
            from igtoken.core.exceptions import ConfigurationError

            raise ConfigurationError(
                "the URLs to register with Meta are derived from the service's public URL, and none is set",
                fix="set IGTOKEN_PUBLIC_URL=https://… or give --public-url https://…",
            )
    urls = meta_urls(public_url or redirect_uris[0])
    uris = list(redirect_uris) or [urls.redirect_uri]
    steps = guide(kind, urls, scopes=scopes)
    if guide_only:
        if app.json:
            _print({"flow": kind.value, "urls": urls.as_json(), "steps": [s.as_json() for s in steps]})
        else:
            _show_guide(kind.value, steps, urls, sandbox=sandbox)
        return
    if not app.json:
        _show_guide(kind.value, steps, urls, sandbox=sandbox)
    name, app_id, secret = _gather(
        app, kind, name, app_id, secret_file, secret_env, asks=asks, sandbox=sandbox
    )
    for attempt in range(1, MAX_ATTEMPTS + 1):
        findings = check_values(kind, app_id, uris, scopes, dev=settings.dev)
        if all(f.ok for f in findings):
            findings += _live(app, kind, app_id, secret, uris)
        if all(f.ok for f in findings):
            break
        retry = {f.name for f in findings if not f.ok} <= {"app_id", "app_secret"}
        if not (asks and retry and attempt < MAX_ATTEMPTS):
            _refuse(app, kind, urls, findings)
        _show_failures(findings)
        click.echo("Copy the value(s) again from the App Dashboard:", err=True)
        app_id, secret = _ask_again(kind, app_id, findings)
    record = _save(app, kind, name, app_id, secret, uris, scopes)
    if app.json:
        from igtoken.cli.apps import app_json

        _print(
            {
                "ok": True,
                "app": app_json(record),
                "urls": urls.as_json(),
                "findings": [f.as_json("field", "value") for f in findings],
            }
        )
        return
    for f in findings:
        click.echo(f"  ok    {f.name} {f.subject}: {f.detail}")
    prefix = "igtoken --sandbox" if sandbox else "igtoken"
    click.echo(f"Registered app {record.name!r} ({kind.value}, app id {app_id}) after Meta accepted it.")
    click.echo(f"Next: {prefix} login --app {record.name}   (and `{prefix} doctor --app {record.name}`)")


def _gather(
    app: AppContext,
    kind: Any,
    name: str | None,
    app_id: str | None,
    secret_file: Path | None,
    secret_env: str | None,
    *,
    asks: bool,
    sandbox: bool,
) -> tuple[str, str, Secret]:
    """The name, app id and secret: from flags, prompts, or (sandbox) the emulator's demo app."""
    from igtoken.cli.apps import read_secret
    from igtoken.core.exceptions import ConfigurationError
    from igtoken.core.models import FlowKind
    from igtoken.core.secret import Secret
    from igtoken.emulator import demo

    facebook = kind is FlowKind.FACEBOOK_LOGIN
    demo_id = demo.DEMO_FB_APP_ID if facebook else demo.DEMO_IG_APP_ID
    demo_secret = demo.DEMO_FB_APP_SECRET if facebook else demo.DEMO_IG_APP_SECRET
    label = "App ID (App settings > Basic)" if facebook else "Instagram app ID"
    if name is None:
        name = click.prompt("A name for this app in igtoken", default="main", err=True) if asks else "main"
    if app_id is None:
        if asks:
            app_id = click.prompt(label, default=demo_id if sandbox else None, err=True)
        elif sandbox:
            app_id = demo_id
        else:
            raise ConfigurationError(
                "no app id given", fix=f"give --app-id (the {label}), or run igtoken setup at a terminal"
            )
    if secret_file is None and secret_env is None and not asks:
        if not sandbox:
            raise ConfigurationError(
                "no app secret given",
                fix="give --secret-file PATH or --secret-env VAR (never on the command line)",
            )
        return name, str(app_id).strip(), Secret(demo_secret)
    if sandbox and asks and secret_file is None and secret_env is None:
        click.echo(f"(sandbox: the emulator's demo app secret is {demo_secret})", err=True)
    where = "App secret (App settings > Basic)" if facebook else "Instagram app secret"
    return name, str(app_id).strip(), read_secret(secret_file, secret_env, prompt=where)


def _live(app: AppContext, kind: Any, app_id: str, secret: Secret, uris: list[str]) -> list[Check]:
    """Check the values with Meta (or the emulator) through the command's link."""
    from igtoken.app.meta_setup import check_live
    from igtoken.cli._meta import meta_link

    with meta_link(app.runtime) as link:

        async def run() -> list[Check]:
            async with link.async_http() as http:
                return await check_live(kind, app_id, secret, uris, http, link.endpoints)

        return asyncio.run(run())


def _show_failures(findings: list[Check]) -> None:
    for f in findings:
        if not f.ok:
            click.echo(f"  FAIL  {f.name} {f.subject}: {f.detail}\n        fix: {f.fix}", err=True)


def _ask_again(kind: Any, app_id: str, findings: list[Check]) -> tuple[str, Secret]:
    """At a terminal, after Meta refused the id or the secret: ask for the one(s) it refused."""
    from igtoken.core.models import FlowKind
    from igtoken.core.secret import Secret

    facebook = kind is FlowKind.FACEBOOK_LOGIN
    failed = {f.name for f in findings if not f.ok}
    if "app_id" in failed:
        app_id = click.prompt("App ID (App settings > Basic)" if facebook else "Instagram app ID", err=True)
    where = "App secret (App settings > Basic)" if facebook else "Instagram app secret"
    return str(app_id).strip(), Secret(click.prompt(where, hide_input=True, err=True).strip())


def _refuse(app: AppContext, kind: Any, urls: MetaUrls, findings: list[Check]) -> None:
    """Print what failed and its fix; exit 6 (configuration) without saving."""
    failed = [f for f in findings if not f.ok]
    if app.json:
        _print(
            {
                "ok": False,
                "app": None,
                "urls": urls.as_json(),
                "findings": [f.as_json("field", "value") for f in findings],
            }
        )
    else:
        for f in findings:
            click.echo(f"  {'ok  ' if f.ok else 'FAIL'}  {f.name} {f.subject}: {f.detail}", err=not f.ok)
            if not f.ok and f.fix:
                click.echo(f"        fix: {f.fix}", err=True)
        click.echo(f"Not saved: {len(failed)} value(s) Meta would refuse ({kind.value}).", err=True)
    raise click.exceptions.Exit(6)


def _save(
    app: AppContext,
    kind: Any,
    name: str,
    app_id: str,
    secret: Secret,
    uris: list[str],
    scopes: tuple[str, ...],
) -> Any:
    from igtoken.core.models import FlowKind
    from igtoken.instagram.scopes import split_scopes

    facebook = kind is FlowKind.FACEBOOK_LOGIN
    return app.vault.add_app(
        name,
        instagram_app_id=app_id,
        app_secret=secret,
        redirect_uris=uris,
        now=app.now(),
        default_scopes=split_scopes(scopes),
        flow_kind=kind,
        meta_app_id=app_id if facebook else None,
        meta_app_secret=secret if facebook else None,
    )


def _show_guide(flow: str, steps: list[Step], urls: MetaUrls, *, sandbox: bool) -> None:
    title = "Instagram Login" if flow == "instagram_login" else "Facebook Login for Business"
    click.echo(f"Setting up a Meta app for {title}. In Meta's App Dashboard:", err=True)
    if sandbox:
        click.echo(
            "(sandbox: the built-in emulator plays Meta; its demo app already has these set)", err=True
        )
    for number, step in enumerate(steps, 1):
        click.echo(f"\n{number}. {step.title}\n   {step.click}", err=True)
        for field_name, value in step.paste:
            click.echo(f"     paste into {field_name!r}:\n       {value}", err=True)
    click.echo("", err=True)


def _print(body: dict[str, Any]) -> None:
    from igtoken.cli._output import print_json

    print_json(body)


def register_lines(apps: list[Any], public_url: str) -> list[str]:
    """For the service's banner: the three URLs each app must have registered with Meta."""
    from igtoken.app.meta_setup import meta_urls

    urls = meta_urls(public_url)
    lines: list[str] = []
    for record in apps:
        lines.append(f"Register in Meta's App Dashboard for app {record.name!r} ({record.flow_kind.value}):")
        lines += urls.lines("  ")
    return lines
