"""The Facebook Login half of ``igtoken doctor``: the Meta app, its dialog, and each Page's account.

App checks: the scope names (Facebook Login's, not Instagram Login's), the Meta app id and secret
(an app token), and every redirect URI (and the Login for Business configuration) against the
Facebook dialog, with the same rigour as Instagram's: Meta's "URL blocked" is a failed check naming
the near miss it would accept. Account checks: the page token (``debug_token`` through the refresh
use case; a dead one marks the account), the Page link, permissions, and the expiries.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from igtoken.cli._check import (
    EXPIRY_WARN_DAYS,
    Check,
    _dead_check,
    _error_text,
    _permissions_check,
    _variants,
)

if TYPE_CHECKING:
    import httpx

    from igtoken.cli._check import AccountProbe
    from igtoken.client.clients import Client
    from igtoken.core.endpoints import Endpoints
    from igtoken.vault import AccountRecord, AppRecord, Vault

__all__ = ["facebook_account_checks", "facebook_app_checks", "facebook_scope_checks"]


def facebook_scope_checks(app: AppRecord) -> list[Check]:
    """Facebook Login permission names: the Instagram Login look-alikes fail with "Invalid Scopes"."""
    from igtoken.core.exceptions import ScopeError
    from igtoken.facebook.scopes import DEFAULT_FACEBOOK_SCOPES, check_facebook_scope

    bad: list[Check] = []
    for scope in app.default_scopes:
        try:
            check_facebook_scope(scope)
        except ScopeError as exc:
            bad.append(Check("scope", scope, False, exc.message, exc.fix))
    if bad:
        return bad
    shown = ", ".join(app.default_scopes) or f"none set; login asks for {', '.join(DEFAULT_FACEBOOK_SCOPES)}"
    return [Check("scopes", app.name, True, shown)]


def facebook_app_checks(app: AppRecord, http: httpx.Client, endpoints: Endpoints) -> list[Check]:
    """The Meta app id and secret (an app token), then every redirect URI and the configuration
    against the Facebook dialog, which answers "URL blocked" for a URI the app has not registered."""
    client_id = app.meta_app_id or app.instagram_app_id
    secret = app.meta_app_secret or app.app_secret
    answer = http.get(
        endpoints.facebook_graph("oauth/access_token"),
        params={"client_id": client_id, "client_secret": secret.reveal(), "grant_type": "client_credentials"},
    )
    if not answer.is_success:
        text = _error_text(answer)
        return [
            Check(
                "app id and secret",
                client_id,
                False,
                f"Meta refuses the Facebook app id or secret ({text})",
                "use the Meta app id and secret from App settings > Basic",
            )
        ]
    checks = [Check("app id and secret", client_id, True, "Meta issues an app token")]
    good: list[str] = []
    for uri in app.redirect_uris:
        refusal = _dialog_refusal(_dialog(http, endpoints, client_id, uri))
        if refusal is None:
            checks.append(Check("redirect URI", uri, True, "the Facebook dialog accepts it"))
            good.append(uri)
            continue
        if not _is_blocked(refusal):
            checks.append(
                Check("redirect URI", uri, False, f"the Facebook dialog refuses it ({refusal})", "")
            )
            continue
        accepted = [
            v for v in _variants(uri) if _dialog_refusal(_dialog(http, endpoints, client_id, v)) is None
        ]
        fix = (
            f"Meta has {accepted[0]!r} registered: URIs must match byte for byte (trailing slash, www, "
            "scheme); register the same string in both places"
            if accepted
            else "add this exact URI under Facebook Login for Business > Settings > "
            "Valid OAuth Redirect URIs in the App Dashboard"
        )
        checks.append(
            Check("redirect URI", uri, False, f'the Facebook dialog says "URL blocked" ({refusal})', fix)
        )
    if app.config_id and good:  # with no accepted redirect URI the dialog says nothing else
        refusal = _dialog_refusal(_dialog(http, endpoints, client_id, good[0], config_id=app.config_id))
        if refusal is None:
            checks.append(
                Check("config id", app.config_id, True, "the Facebook dialog knows the configuration")
            )
        else:
            checks.append(
                Check(
                    "config id",
                    app.config_id,
                    False,
                    f"the Facebook dialog refuses the configuration ({refusal})",
                    "copy the id from Facebook Login for Business > Configurations in the App Dashboard, "
                    f"then: igtoken apps update {app.name} --config-id ID",
                )
            )
    return checks


def _dialog(
    http: httpx.Client,
    endpoints: Endpoints,
    client_id: str,
    redirect_uri: str,
    *,
    config_id: str | None = None,
) -> httpx.Response:
    """Open the Facebook Login dialog as a browser would (nobody logs in: only the app's settings count)."""
    params = {"client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code"}
    params |= {"config_id": config_id} if config_id else {"scope": "public_profile"}
    params["state"] = "igtoken-doctor"
    return http.get(endpoints.facebook_dialog, params=params, follow_redirects=False)


def _dialog_refusal(answer: httpx.Response) -> str | None:
    """What the dialog's error page says, or ``None`` when it opened (a consent or login page)."""
    body = re.sub(r"(?is)<(head|style|script)\b.*?</\1>", " ", answer.text)
    text = " ".join(re.sub(r"<[^>]+>", " ", body).split())
    if "url blocked" in text.lower():
        return html.unescape(text)[:300]
    if answer.status_code < 400:
        return None
    return html.unescape(text)[:300] or f"HTTP {answer.status_code}"


def _is_blocked(refusal: str) -> bool:
    lowered = refusal.lower()
    return "url blocked" in lowered or "redirect_uri" in lowered


def facebook_client(app: AppRecord, http: httpx.Client, endpoints: Endpoints) -> Client:
    """A library client acting as the app's Meta app (the redirect URI is not used by these checks)."""
    from igtoken.client.clients import Client
    from igtoken.core.config import AppCredentials, ClientConfig

    credentials = AppCredentials(
        app.meta_app_id or app.instagram_app_id,
        app.meta_app_secret or app.app_secret,
        app.redirect_uris[0] if app.redirect_uris else "https://localhost/igtoken-doctor",
    )
    return Client(ClientConfig(credentials, endpoints=endpoints, retry_attempts=1), http=http)


def facebook_account_checks(
    probe: AccountProbe, app: AppRecord, account: AccountRecord, *, relogin: str
) -> list[Check]:
    """A Facebook Login account: page token (debug_token), Page link, permissions, user token and
    data-access expiry. A page token Meta calls dead (190: password changed, role lost, app
    removed) marks the account for re-authorization, as the refresh worker would."""
    from igtoken.core.exceptions import IGTokenError, NeedsReauthorizationError
    from igtoken.core.models import TokenKind
    from igtoken.refresh.outcomes import Outcome

    who = f"@{account.username}" if account.username else account.id
    page = f"Page {account.page_name or account.page_id!r}"
    client = facebook_client(app, probe.http, probe.endpoints)
    # The one page-token check, as the worker and the service make it: under the token's lease,
    # a dead token marks the account (with its re-authorization link and webhook).
    result = probe.check_page(account)
    if result.outcome is Outcome.NEEDS_REAUTH:
        link = f" (or open {result.reauthorize_url})" if result.reauthorize_url else ""
        return [
            Check(
                "page token",
                who,
                False,
                f"{result.detail}; the account is now marked as needing re-authorization",
                f"run `{relogin}` and approve as the Facebook user who manages the {page}{link}",
            )
        ]
    verdict = result.verdict
    if verdict is None:
        fix = result.error.fix if isinstance(result.error, IGTokenError) else ""
        detail = f"cannot ask Meta about the page token: {result.detail}"
        return [Check("page token", who, False, detail, fix)]
    stored = probe.vault.current_token(account.id, TokenKind.FB_PAGE)
    checks = [
        Check(
            "page token",
            who,
            verdict.ok,
            f"{page}: {verdict.detail}",
            "" if verdict.ok else f"run `{relogin}`",
        )
    ]
    try:
        node = client.page_instagram_account(stored.token.value, account.page_id or "", now=probe.now)
    except NeedsReauthorizationError as exc:
        marked = probe.token_dead(account, stored.token_id, exc)
        checks.append(_dead_check("Page link", who, exc.message, marked, relogin))
        return checks
    except IGTokenError as exc:
        checks.append(Check("Page link", who, False, f"cannot read the {page}: {exc.message}", exc.fix))
        node = None
    if node is not None:
        linked = node.instagram_account
        if linked is None or linked.user_id != account.ig_user_id:
            checks.append(
                Check(
                    "Page link",
                    who,
                    False,
                    f"{who} is no longer linked to the {page}",
                    "link the Instagram professional account to the Page again (Instagram app: Settings > "
                    f"Account type and tools > Connect a Facebook Page), then `{relogin}`",
                )
            )
        else:
            checks.append(Check("Page link", who, True, f"linked to the {page}"))
    checks.append(
        _permissions_check(set(app.default_scopes), set(account.scopes), who, relogin, none="none recorded")
    )
    checks.append(facebook_expiry(probe.vault, account, now=probe.now, relogin=relogin, who=who))
    return checks


def facebook_expiry(vault: Vault, account: AccountRecord, *, now: datetime, relogin: str, who: str) -> Check:
    """The user token's 60 days and the 90-day data access: a new login renews both."""
    from igtoken.core.exceptions import NotFoundError
    from igtoken.core.models import TokenKind

    deadlines: list[tuple[str, datetime]] = []
    try:
        user = vault.current_token(account.id, TokenKind.FB_USER).token
    except NotFoundError:
        user = None
    if user is not None and user.expires_at is not None:
        deadlines.append(("the Facebook user token", user.expires_at))
    if account.data_access_expires_at is not None:
        deadlines.append(("data access", account.data_access_expires_at))
    if not deadlines:
        return Check("expiry", who, True, "page token never expires")
    what, when = min(deadlines, key=lambda d: d[1])
    days = (when - now) / timedelta(days=1)
    if days < EXPIRY_WARN_DAYS:
        return Check(
            "expiry",
            who,
            False,
            f"{what} ends in {days:.1f} days ({when:%Y-%m-%d})",
            f"run `{relogin}` before then: a new Facebook login renews both",
        )
    return Check("expiry", who, True, f"page token never expires; {what} ends in {days:.0f} days")
