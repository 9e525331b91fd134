"""``igtoken serve``: the service (dashboard, onboarding, Meta callbacks, token API) on uvicorn.

Sandbox mode — ``--sandbox``, ``IGTOKEN_SANDBOX``, or simply no Meta app registered yet —
starts the built-in emulator with its demo world beside the service (unless
``IGTOKEN_META_BASE_URL`` names one already running), registers its demo apps, and prints
the dashboard's address, a generated admin password and a fresh API key, so a newcomer can
click through the whole flow and fetch a token with curl.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from igtoken.cli._context import AppContext, pass_ctx

if TYPE_CHECKING:
    from datetime import datetime

    from igtoken.app.runtime import Runtime
    from igtoken.config.settings import Settings
    from igtoken.core.secret import Secret

#: The emulator's usual port; taken, the sandbox picks a free one.
SANDBOX_EMULATOR_PORT = 8790


#: The name of the API key a sandbox service prints at start-up.
SANDBOX_API_KEY_NAME = "sandbox (printed at start-up)"


def _fresh_sandbox_api_key(runtime: Runtime, *, now: datetime) -> Secret:
    """A new key for the banner; the ones earlier starts printed are revoked, so restarts leave none behind.

    Keys are stored hashed, so an earlier key cannot be shown again: replacing it is the only way
    to print a working one.
    """
    keys = runtime.vault.api_keys
    for record in keys.list_all():
        if record.name == SANDBOX_API_KEY_NAME and record.revoked_at is None:
            keys.revoke(record.id, now=now)
    _, api_key = keys.create(SANDBOX_API_KEY_NAME, now=now)
    return api_key


def _has_real_app(settings: Settings) -> bool:
    """Whether the (non-sandbox) vault holds an app; a default database that does not exist holds none."""
    from igtoken.app.runtime import SANDBOX_APP, SANDBOX_FB_APP, Runtime
    from igtoken.config import paths as _paths

    is_default = settings.sources.get("IGTOKEN_DATABASE_URL", "default") == "default"
    if is_default and not _paths.default_database_path().exists():
        return False
    runtime = Runtime(settings)
    try:
        return any(app.name not in (SANDBOX_APP, SANDBOX_FB_APP) for app in runtime.vault.list_apps())
    finally:
        runtime.open_vault().vault.close()


def _register_with_external_emulator(base_url: str, redirect_uri: str) -> None:
    """Best effort: let the demo apps of an emulator that is already running accept our callback."""
    import contextlib

    import httpx

    from igtoken.emulator import demo

    with httpx.Client(timeout=5.0) as http:
        for app_id in (demo.DEMO_IG_APP_ID, demo.DEMO_FB_APP_ID):
            with contextlib.suppress(httpx.HTTPError):
                http.patch(f"{base_url}/_emulator/apps/{app_id}", json={"add_redirect_uris": [redirect_uri]})


@click.command("serve")
@click.option("--sandbox", "sandbox_flag", is_flag=True, help="Run against the built-in emulator.")
@click.option("--host", default=None, help="Address to listen on. Default: IGTOKEN_HOST (127.0.0.1).")
@click.option(
    "--port", type=int, default=None, help="Port (0 picks a free one). Default: IGTOKEN_PORT (8000)."
)
@click.option("--no-worker", is_flag=True, help="Do not run the refresh worker inside the service.")
@pass_ctx
def serve(ctx: AppContext, sandbox_flag: bool, host: str | None, port: int | None, no_worker: bool) -> None:
    """Run the igtoken service: dashboard, connect links, Meta's callbacks and the /v1 token API."""
    import contextlib
    import dataclasses
    import secrets

    from igtoken.config.extras import require_extra
    from igtoken.core.exceptions import ConfigurationError

    require_extra("server")

    from igtoken.app.logs import configure_logging
    from igtoken.app.runtime import Runtime
    from igtoken.cli.setup import register_lines
    from igtoken.core.secret import Secret
    from igtoken.sandbox import SandboxEmulator
    from igtoken.service.app import make_server
    from igtoken.service.assembly import build_app, meta_webhook_verify_token
    from igtoken.service.wiring import redirect_uri_for

    settings = ctx.settings
    host = host or settings.host
    port = settings.port if port is None else port
    sandbox = sandbox_flag or ctx.sandbox or not _has_real_app(settings)
    from igtoken.cli._listen import bind_listener

    sock = bind_listener(host, port, port_hint="--port / IGTOKEN_PORT")
    bound_port = sock.getsockname()[1]
    wildcard = host in ("0.0.0.0", "::", "")  # noqa: S104 - recognising it, not binding it
    shown_host = "127.0.0.1" if wildcard else (f"[{host}]" if ":" in host else host)
    public_url = settings.public_url or f"http://{shown_host}:{bound_port}"
    if not sandbox and settings.public_url is None and not settings.dev:
        sock.close()
        raise ConfigurationError(
            "outside sandbox mode the service needs its public HTTPS URL (people and Meta reach it there)",
            fix="set IGTOKEN_PUBLIC_URL=https://…, or IGTOKEN_DEV=1 for a local plain-http setup",
        )
    redirect_uri = redirect_uri_for(public_url)
    if sandbox:
        settings = dataclasses.replace(settings, sandbox=True)
    runtime = Runtime(settings)
    now = runtime.now()
    lines: list[str] = []
    with contextlib.ExitStack() as stack:
        sandbox_url: str | None = None
        if sandbox and settings.meta_base_url is None:
            emulator = SandboxEmulator()
            try:
                running = stack.enter_context(emulator.serve([redirect_uri], port=SANDBOX_EMULATOR_PORT))
            except OSError:
                running = stack.enter_context(emulator.serve([redirect_uri]))
            sandbox_url = running.url
        elif sandbox and settings.meta_base_url is not None:
            _register_with_external_emulator(settings.meta_base_url, redirect_uri)
        endpoints = runtime.endpoints(sandbox_url=sandbox_url)
        admin_password = settings.admin_password
        if sandbox:
            runtime.ensure_sandbox_apps(now=now)
            if admin_password is None:
                admin_password = Secret(secrets.token_urlsafe(18))
                password_line = f"  admin password: {admin_password.reveal()}"
            else:
                password_line = "  admin password: the one in IGTOKEN_ADMIN_PASSWORD"  # noqa: S105
            api_key = _fresh_sandbox_api_key(runtime, now=now)
            verify_token = meta_webhook_verify_token(settings, sandbox=True)
            verify_token_shown = (
                "the one in IGTOKEN_META_WEBHOOK_VERIFY_TOKEN"
                if settings.meta_webhook_verify_token is not None or verify_token is None
                else verify_token.reveal()
            )
            lines += [
                f"igtoken service (sandbox) on {public_url}",
                "",
                f"  dashboard:      {public_url}/dashboard",
                password_line,
                f"  API key:        {api_key.reveal()}",
                f"  API docs:       {public_url}/api/docs",
                f"  Meta emulator:  {sandbox_url or settings.meta_base_url}  (demo account: demo_business)",
                f"  Meta webhooks:  {public_url}/meta/webhooks  (verify token: {verify_token_shown})",
                "",
                "Create a connect link in the dashboard, open it, approve as demo_business, then:",
                f"  curl -H 'Authorization: Bearer {api_key.reveal()}' {public_url}/v1/accounts",
            ]
            lines += ["", *register_lines(runtime.vault.list_apps(), public_url)]
        else:
            lines.append(f"igtoken service on {public_url} (dashboard: {public_url}/dashboard)")
            lines += register_lines(runtime.vault.list_apps(), public_url)
            if settings.meta_webhook_verify_token is None:
                lines.append(
                    "note: IGTOKEN_META_WEBHOOK_VERIFY_TOKEN is not set: Meta's webhook subscription "
                    f"check at {public_url}/meta/webhooks will be refused"
                )
            for app in runtime.vault.list_apps():
                if app.flow_kind == "instagram_login" and redirect_uri not in app.redirect_uris:
                    lines.append(
                        f"warning: app {app.name!r} has not registered {redirect_uri}; "
                        "its connect links will be refused until it does"
                    )
        if runtime.session_secret() is None:
            lines.append(
                "warning: IGTOKEN_SESSION_SECRET is not set: dashboard sessions end at each restart "
                "and work on this instance only (set the same one on every replica)"
            )
        worker = settings.worker and not no_worker
        service = build_app(
            runtime,
            public_url=public_url,
            endpoints=endpoints,
            sandbox=sandbox,
            admin_password=admin_password,
            worker=worker,
            clock=runtime.now,
        )
        lines.append(
            "refresh worker: running inside the service"
            if worker
            else "refresh worker: off here (run `igtoken worker` separately)"
        )
        lines += ["", "Press Ctrl+C to stop."]
        click.echo("\n".join(lines))
        configure_logging(settings.log_level, fmt=settings.log_format)
        server = make_server(service, host=host, port=bound_port)
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()
            runtime.open_vault().vault.close()
