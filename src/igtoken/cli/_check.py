"""What every doctor check is made of: the ``Check`` line (:mod:`igtoken.core.checks`), and the
helpers both check modules share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit, urlunsplit

from igtoken.app.meta_setup import meta_error_text
from igtoken.core.checks import Check

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

    from igtoken.core.endpoints import Endpoints
    from igtoken.refresh.usecase import Result
    from igtoken.vault import AccountRecord, Vault

    #: Checks an account's page token now (through the refresh use case) and says how it went.
    PageCheck = Callable[[AccountRecord], Result]
    #: Meta called a token dead in one of doctor's own calls: mark the account (refresh use case).
    DeadToken = Callable[[AccountRecord, str, BaseException], "Result | None"]

__all__ = ["EXPIRY_WARN_DAYS", "USAGE_WARN", "AccountProbe", "Check"]


#: Usage at or above this percentage of Meta's limits is reported.
USAGE_WARN: Final = 80.0

#: Fewer days than this before expiry is reported.
EXPIRY_WARN_DAYS: Final = 7


@dataclass(frozen=True, slots=True)
class AccountProbe:
    """What checking connected accounts needs: the vault, the link to Meta (or the emulator), the
    time, and the refresh use case's two hooks (``check_page`` checks a Facebook Login account's
    page token now; ``token_dead`` marks an account whose token Meta called dead here)."""

    vault: Vault
    http: httpx.Client
    endpoints: Endpoints
    now: datetime
    check_page: PageCheck
    token_dead: DeadToken


def _error_text(response: httpx.Response) -> str:
    return meta_error_text(response, limit=300)


def _variants(uri: str) -> list[str]:
    """Near misses Meta would treat as different: trailing slash, www, scheme."""
    parts = urlsplit(uri)
    out: list[str] = []
    path = parts.path[:-1] if parts.path.endswith("/") else parts.path + "/"
    out.append(urlunsplit(parts._replace(path=path)))
    host = parts.netloc
    other = host[4:] if host.startswith("www.") else f"www.{host}"
    out.append(urlunsplit(parts._replace(netloc=other)))
    out.append(urlunsplit(parts._replace(scheme="http" if parts.scheme == "https" else "https")))
    return out


def _dead_check(name: str, who: str, detail: str, marked: Result | None, relogin: str) -> Check:
    """A failed token check; says so when Meta's answer marked the account for re-authorization."""
    from igtoken.refresh.outcomes import Outcome

    fix = f"run `{relogin}`"
    if marked is not None and marked.outcome is Outcome.NEEDS_REAUTH:
        detail += "; the account is now marked as needing re-authorization"
        if marked.reauthorize_url:
            fix += f" (or open {marked.reauthorize_url})"
    return Check(name, who, False, detail, fix)


def _permissions_check(
    required: set[str], granted: set[str], who: str, relogin: str, *, none: str = ""
) -> Check:
    """Granted versus required permissions, with the re-login command that asks for all of them."""
    missing = sorted(required - granted)
    if not missing:
        return Check("permissions", who, True, ", ".join(sorted(granted)) or none)
    scope_args = " ".join(f"--scope {s}" for s in sorted(required))
    return Check(
        "permissions",
        who,
        False,
        f"not granted: {', '.join(missing)} (granted: {', '.join(sorted(granted)) or 'none'})",
        f"run `{relogin} {scope_args}` and leave every permission ticked",
    )
