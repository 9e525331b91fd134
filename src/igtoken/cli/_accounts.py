"""Finding the account a command means, and the command that re-authorizes it.

An ``ACCOUNT`` argument may be the username (with or without ``@``), the vault's account id
or the Instagram user id. Without one, the only connected account is used; with several,
the error lists them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from igtoken.core.exceptions import ConfigurationError, NotFoundError

if TYPE_CHECKING:
    from igtoken.vault import AccountRecord, AppRecord, Vault

__all__ = ["app_names", "login_command", "match_account", "resolve_account"]


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


def resolve_account(vault: Vault, wanted: str | None, *, sandbox: bool = False) -> AccountRecord:
    """The account ``wanted`` names, or the only one there is.

    Raises:
        NotFoundError: nothing matches, or no account is connected yet.
        ConfigurationError: ``wanted`` is missing or ambiguous among several accounts.
    """
    accounts = [a for a in vault.list_accounts() if a.status.value != "deleted"]
    names = app_names(vault)
    found = match_account(accounts, wanted)
    if found is not None:
        return found
    if wanted is None:
        if not accounts:
            raise NotFoundError(
                "no Instagram account is connected yet",
                fix=f"connect one: {login_command(None, sandbox=sandbox)}",
            )
        listing = ", ".join(_label(a, names) for a in accounts)
        raise ConfigurationError(
            f"{len(accounts)} accounts are connected; say which one: {listing}",
            fix="pass the username, e.g. `igtoken token USERNAME` (see `igtoken accounts list`)",
        )
    matches = _matches(accounts, wanted)
    if not matches:
        known = ", ".join(_label(a, names) for a in accounts) or "none"
        raise NotFoundError(
            f"no connected account matches {wanted!r}; connected: {known}",
            fix="pass a username or id from `igtoken accounts list`",
        )
    listing = ", ".join(f"{_label(a, names)} id {a.id}" for a in matches)
    raise ConfigurationError(
        f"{wanted!r} matches several accounts (one per app): {listing}",
        fix="pass the account id instead",
    )
