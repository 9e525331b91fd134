"""``igtoken token``: print a valid token for scripts, refreshing it first when it is due.

``curl -H "Authorization: Bearer $(igtoken token)" …`` is the use: the token goes to stdout in
full (that is this command's purpose), everything else to stderr. When no valid token can be
had, it exits with 3 and names the command that re-authorizes the account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from igtoken.cli._context import AppContext, account_app_option, json_option, pass_ctx

if TYPE_CHECKING:
    from datetime import datetime

    from igtoken.core.models import AccessToken
    from igtoken.refresh.usecase import Result
    from igtoken.vault import AccountRecord, StoredToken


@dataclass(frozen=True, slots=True)
class FreshToken:
    """A token ready to use, and whether this command just refreshed it."""

    token: AccessToken
    refreshed: bool
    warning: str | None = None


def fresh_token(app: AppContext, account: AccountRecord) -> FreshToken:
    """The account's current token, refreshed first when its refresh is due.

    A refresh that fails for a temporary reason leaves the (still valid) token in place and
    says so in ``warning``; the failure is recorded so the worker backs off.

    Raises:
        NeedsReauthorizationError: the account is not active, or Meta refused the token.
        TokenExpiredError: the token has expired.
    """
    from igtoken.cli._accounts import login_command, reauthorize_link
    from igtoken.core.exceptions import NeedsReauthorizationError, TokenExpiredError

    vault = app.vault
    now = app.now()
    record = vault.get_app(account.app_id)
    relogin = login_command(record, sandbox=app.runtime.sandbox)
    who = f"@{account.username}" if account.username else account.id
    approver = (
        f"the Facebook user who manages the Page {account.page_name or account.page_id!r}"
        if account.via_facebook
        else who
    )
    if account.status.value != "active":
        reason = f": {account.status_reason}" if account.status_reason else ""
        link = reauthorize_link(vault, account)
        raise NeedsReauthorizationError(
            f"{who} needs to log in again (status {account.status.value}{reason})",
            status_code=0,
            fix=f"run `{relogin}` and approve as {approver}" + (f", or open {link}" if link else ""),
        )
    # Facebook Login accounts are served their page token; it is checked, never refreshed.
    stored = vault.current_token(account.id, account.served_kind, record_read=True, now=now, reader="cli")
    token = stored.token
    if token.is_expired(now):
        message = f"the token of {who} expired on {token.expires_at:%Y-%m-%d %H:%M} UTC"
        # Recorded through the refresh use case (under the lease, with the re-authorization link
        # and webhook), so every other reader (the API, the dashboard, the next `token`) says so too.
        result = _use_case(app, account)
        link = f", or open {result.reauthorize_url}" if result.reauthorize_url else ""
        raise TokenExpiredError(message, fix=f"run `{relogin}` and approve as {approver}{link}")
    if not refresh_due(stored, now):
        return FreshToken(token, refreshed=False)
    return _refresh(app, account, relogin)


def refresh_due(stored: StoredToken, now: datetime) -> bool:
    """Whether this command refreshes the token before printing it: due, and Meta would refresh it."""
    from igtoken.core.lifecycle import can_refresh
    from igtoken.core.models import TokenKind

    token = stored.token
    due = stored.next_refresh_at is not None and now >= stored.next_refresh_at
    return token.kind is TokenKind.IG_LONG and due and can_refresh(token, now)


def quick_token(app: AppContext, wanted: str | None) -> tuple[AccountRecord, FreshToken] | None:
    """The token without the full vault, when it can be printed as it is; ``None`` means take the full path.

    Only for the embedded SQLite default whose key file exists: see :mod:`igtoken.vault.quickread`
    for when it answers. It accepts exactly the tokens :func:`fresh_token` would return unrefreshed
    and unchanged (active account, not expired, refresh not due).
    """
    from igtoken.app.runtime import SANDBOX_APP, SANDBOX_FB_APP
    from igtoken.cli._accounts import match_account
    from igtoken.vault.quickread import read_current_token
    from igtoken.vault.setup import existing_keyring

    runtime = app.runtime
    paths = runtime.embedded_paths()
    if paths is None:
        return None
    keys = runtime.settings.keys.reveal() if runtime.settings.keys is not None else None
    keyring = existing_keyring(keys=keys, key_file=paths.key_file)
    if keyring is None:
        return None
    now = app.now()

    def accept(stored: StoredToken) -> bool:
        return (
            stored.account_status.value == "active"
            and not stored.token.is_expired(now)
            and not refresh_due(stored, now)
        )

    found = read_current_token(
        paths.database,
        keyring,
        pick=lambda accounts: match_account(accounts, wanted),
        accept=accept,
        now=now,
        reader="cli",
        required_apps=(SANDBOX_APP, SANDBOX_FB_APP) if runtime.sandbox else (),
    )
    if found is None:
        return None
    return found.account, FreshToken(found.stored.token, refreshed=False)


def _refresh(app: AppContext, account: AccountRecord, relogin: str) -> FreshToken:
    """Refresh through the one refresh use case, under the token's lease.

    A worker (or another command) refreshing the same token right now is waited for, and its
    new token printed: the token in hand may be about to be retired. A temporary failure
    leaves the still valid token in place with a warning (recorded, so the worker backs off).
    """
    from igtoken.core.exceptions import NeedsReauthorizationError, TokenExpiredError
    from igtoken.refresh.outcomes import Outcome
    from igtoken.refresh.usecase import raise_for

    result = _use_case(app, account)
    if result.outcome is Outcome.NEEDS_REAUTH:
        link = f", or open {result.reauthorize_url}" if result.reauthorize_url else ""
        error = result.error
        if not isinstance(error, NeedsReauthorizationError | TokenExpiredError):
            error = NeedsReauthorizationError(
                f"Meta no longer accepts the token of account {account.id!r}: {result.detail}", status_code=0
            )
        error.fix = f"run `{relogin}`{link}"
        raise error
    current = app.vault.current_token(account.id, account.served_kind).token
    if result.outcome in (Outcome.RETRY, Outcome.THROTTLED, Outcome.IN_PROGRESS, Outcome.LOST_LEASE):
        warning = f"refresh failed ({result.detail}); token still valid"
        return FreshToken(current, refreshed=False, warning=warning)
    raise_for(result)  # a failure that is not temporary: Meta's error as it came
    return FreshToken(current, refreshed=result.outcome is Outcome.REFRESHED)


def _use_case(app: AppContext, account: AccountRecord) -> Result:
    """The account's token refreshed (or found dead) now, by the one refresh use case."""
    import asyncio

    from igtoken.cli.worker import open_refresher

    async def run() -> Result:
        async with open_refresher(app) as refresher:
            return await refresher.refresh_account(account.id, force=True, trigger="cli")

    return asyncio.run(run())


@click.command("token")
@click.argument("account", required=False)
@account_app_option
@json_option
@pass_ctx
def token(app: AppContext, account: str | None, app_name: str | None) -> None:
    """Print a valid access token for ACCOUNT (the only account when omitted).

    The token is printed in full on stdout, so it can be used in scripts; it is
    refreshed first when its refresh is due. Exit code 3 means the account must log
    in again (the message says how).

    \b
    Examples:
      curl -H "Authorization: Bearer $(igtoken token)" "https://graph.instagram.com/me?fields=username"
      igtoken token demo_business
      igtoken token demo_business --app demo-facebook   # the same account through another app
      igtoken token shop_account --json | jq -r .access_token
    """
    from igtoken.cli._accounts import resolve_account
    from igtoken.cli._output import print_result

    # Most calls find a valid token that is not due: answered without loading the full vault.
    quick = quick_token(app, account) if app_name is None else None
    if quick is not None:
        record, fresh = quick
    else:
        record = resolve_account(app.vault, account, sandbox=app.runtime.sandbox, app=app_name)
        fresh = fresh_token(app, record)
    if fresh.warning:
        click.echo(f"warning: {fresh.warning}", err=True)
    value = fresh.token.value.reveal()
    print_result(
        app.json,
        {
            "access_token": value,
            "account": {"id": record.id, "username": record.username, "ig_user_id": record.ig_user_id},
            "kind": fresh.token.kind,
            "expires_at": fresh.token.expires_at,
            "refreshed": fresh.refreshed,
        },
        value,
    )
