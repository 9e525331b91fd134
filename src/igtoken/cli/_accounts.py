"""Finding the account a command means, and the command that re-authorizes it.

An ``ACCOUNT`` argument may be the username (with or without ``@``), the vault's account id
or the Instagram user id; ``--app NAME`` narrows the choice to one app's accounts (the same
Instagram account connected through two apps is two accounts). Without one, the only connected
account is used; with several, the error lists them (exit 2) and says how to pick.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from igtoken.core.exceptions import NotFoundError

if TYPE_CHECKING:
    from igtoken.vault import AccountRecord, AppRecord, Vault

__all__ = [
    "account_args",
    "app_names",
    "command_for",
    "login_command",
    "match_account",
    "reauthorize_link",
    "resolve_account",
]


def app_names(vault: Vault) -> dict[str, str]:
    """App id → app name, for display."""
    return {app.id: app.name for app in vault.list_apps()}


def login_command(app: AppRecord | str | None, *, sandbox: bool = False) -> str:
    """The command that (re-)authorizes an account of ``app``."""
    name = app if isinstance(app, str) or app is None else app.name
    parts = ["igtoken", "login"]
    if name and not (sandbox and name == "demo"):
        parts += ["--app", name]
    if sandbox:
        parts.append("--sandbox")
    return " ".join(parts)


def reauthorize_link(vault: Vault, account: AccountRecord) -> str | None:
    """The re-authorization link recorded when the account was last marked as needing it, if any.

    Absolute only when a public URL was known then (the service's, or ``IGTOKEN_PUBLIC_URL``).
    """
    from igtoken.vault import EventType

    if account.status.value != "needs_reauth":
        return None
    events = vault.events(account_id=account.id, types=[EventType.NEEDS_REAUTH], limit=1000)
    url = events[-1].data.get("reauthorize_url") if events else None
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def _label(account: AccountRecord, names: dict[str, str]) -> str:
    who = f"@{account.username}" if account.username else account.id
    return f"{who} ({names.get(account.app_id, account.app_id)}, {account.status.value})"


def _matches(accounts: Sequence[AccountRecord], wanted: str) -> list[AccountRecord]:
    key = wanted.removeprefix("@")
    return [a for a in accounts if key in (a.username, a.id, a.ig_user_id, a.app_scoped_id)]


def match_account(accounts: Sequence[AccountRecord], wanted: str | None) -> AccountRecord | None:
    """The one account among ``accounts`` (not deleted) that ``wanted`` names, or the only one there is.

    ``None`` when that is not exactly one account; :func:`resolve_account` then explains.
    """
    matches = list(accounts) if wanted is None else _matches(accounts, wanted)
    return matches[0] if len(matches) == 1 else None


def account_args(accounts: Sequence[AccountRecord], account: AccountRecord, app_name: str) -> list[str]:
    """The fewest arguments that make a command pick ``account`` among ``accounts``.

    Nothing when it is the only one, its username when that is unique, else the username and
    ``--app NAME`` (one account per app and Instagram user).
    """
    live = [a for a in accounts if a.status.value != "deleted"]
    if match_account(live, None) is not None and live[0].id == account.id:
        return []
    if not account.username:
        return [account.id]
    if len(_matches(live, account.username)) == 1:
        return [account.username]
    return [account.username, "--app", app_name]


def command_for(verb: str, args: Sequence[str] = (), *, sandbox: bool = False) -> str:
    """``igtoken [--sandbox] VERB ARGS…``, as a person types it."""
    return " ".join(["igtoken", *(["--sandbox"] if sandbox else []), verb, *args])


def resolve_account(
    vault: Vault,
    wanted: str | None,
    *,
    sandbox: bool = False,
    app: str | None = None,
    verb: str | None = "token",
) -> AccountRecord:
    """The account ``wanted`` names (among ``app``'s accounts when given), or the only one there is.

    ``verb`` is the command the hints name (``token``, ``accounts show``, …); ``None`` for a
    command without ``--app``, whose hints name account ids instead.

    Raises:
        NotConnectedError: no account is connected yet (exit 3: log in).
        AmbiguousError: ``wanted`` is missing or names several accounts (exit 2: usage).
        NotFoundError: nothing matches ``wanted``, or there is no app ``app``.
    """
    from igtoken.core.exceptions import AmbiguousError, NotConnectedError

    accounts = [a for a in vault.list_accounts() if a.status.value != "deleted"]
    names = app_names(vault)
    if app is not None:
        app_id = vault.get_app(app).id
        everywhere = accounts
        accounts = [a for a in accounts if a.app_id == app_id]
        if not accounts and everywhere:
            raise NotFoundError(
                f"app {names[app_id]!r} has no connected account; "
                f"connected: {', '.join(_label(a, names) for a in everywhere)}",
                fix=f"connect one: {login_command(names[app_id], sandbox=sandbox)}",
            )
    found = match_account(accounts, wanted)
    if found is not None:
        return found
    if not accounts:
        raise NotConnectedError(
            "no Instagram account is connected yet",
            fix=f"connect one: {login_command(app, sandbox=sandbox)}",
        )
    if wanted is None:
        listing = ", ".join(_label(a, names) for a in accounts)
        if verb is None:  # pragma: no cover - every such command names its account
            raise AmbiguousError(f"say which account: {listing}", fix="pass its username or id")
        first = accounts[0]
        example = command_for(
            verb, account_args(accounts, first, names.get(first.app_id, "")), sandbox=sandbox
        )
        raise AmbiguousError(
            f"{len(accounts)} accounts are connected; say which one: {listing}",
            fix=f"name the account, e.g. `{example}` (see `{command_for('accounts list', sandbox=sandbox)}`)",
        )
    matches = _matches(accounts, wanted)
    if not matches:
        known = ", ".join(_label(a, names) for a in accounts)
        raise NotFoundError(
            f"no connected account matches {wanted!r}; connected: {known}",
            fix=f"pass a username or id from `{command_for('accounts list', sandbox=sandbox)}`",
        )
    listing = ", ".join(_label(a, names) for a in matches)
    if verb is None:
        raise AmbiguousError(
            f"{wanted!r} matches {len(matches)} accounts (one per app): {listing}",
            fix="pass the account id instead: "
            + " or ".join(f"{a.id} ({names.get(a.app_id)})" for a in matches),
        )
    choices = " or ".join(
        f"`{command_for(verb, [wanted, '--app', names.get(a.app_id, a.app_id)], sandbox=sandbox)}`"
        for a in matches
    )
    raise AmbiguousError(
        f"{wanted!r} matches {len(matches)} accounts (one per app): {listing}",
        fix=f"say which app: {choices}",
    )
