"""The checks behind ``igtoken doctor``: each one names what is wrong and how to fix it.

App checks ask Meta (or the emulator) with harmless requests: the authorize URL (is the app id
an Instagram app id, is the redirect URI registered), a code exchange with a made-up code (is
the secret accepted: Meta checks the secret before the code). Account checks read ``/me`` with
the stored token and compare what was granted with what the app asks for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

    from igtoken.client.clients import Client
    from igtoken.core.endpoints import Endpoints
    from igtoken.refresh.usecase import Result
    from igtoken.vault import AccountRecord, AppRecord, Vault

    #: Checks an account's page token now (through the refresh use case) and says how it went.
    PageCheck = Callable[[AccountRecord], Result]

__all__ = ["Check", "account_checks", "app_checks"]

_WHERE_IG_ID: Final = (
    "use the Instagram app id from the App Dashboard > Instagram > API setup with Instagram login "
    "(not the Facebook app id from App settings > Basic), "
    "then: igtoken apps remove NAME && igtoken apps add …"
)
_FIX_REJECTED_KEY: Final = (
    "copy the Instagram app secret from the App Dashboard > Instagram > API setup with Instagram login "
    "(not the Meta app secret from App settings > Basic), then: igtoken apps set-secret NAME"
)
_BASIC_DISPLAY_MIGRATION: Final = (
    "Basic Display was shut down on 2024-12-04: move to Instagram Login "
    "(instagram_business_* scopes, www.instagram.com/oauth/authorize, a Business or Creator account)"
)
#: Usage at or above this percentage of Meta's limits is reported.
USAGE_WARN: Final = 80.0
#: Fewer days than this before expiry is reported.
EXPIRY_WARN_DAYS: Final = 7


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report: passed or not, why, and what to do."""

    name: str
    subject: str
    ok: bool
    detail: str = ""
    fix: str = ""

    def as_json(self) -> dict[str, Any]:
        """The documented JSON shape of a check."""
        return {
            "name": self.name,
            "subject": self.subject,
            "ok": self.ok,
            "detail": self.detail,
            "fix": self.fix,
        }


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        if isinstance(body.get("error_message"), str):
            return str(body["error_message"])
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("message", ""))
    return ""


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


def _authorize(http: httpx.Client, endpoints: Endpoints, app_id: str, redirect_uri: str) -> httpx.Response:
    params = {
        "client_id": app_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": "instagram_business_basic",
        "state": "igtoken-doctor",
    }
    return http.get(endpoints.authorize, params=params, follow_redirects=False)


def _static_redirect_checks(app: AppRecord, *, emulator: bool) -> list[Check]:
    checks: list[Check] = []
    if not app.redirect_uris:
        return [
            Check(
                "redirect URI",
                app.name,
                False,
                "no redirect URI is registered with igtoken",
                f"add the one from the App Dashboard: igtoken apps remove {app.name} && igtoken apps add …",
            )
        ]
    for uri in app.redirect_uris:
        parts = urlsplit(uri)
        if parts.fragment or parts.query:
            checks.append(
                Check("redirect URI", uri, False, "has a query or fragment", "register it without ?… or #…")
            )
        elif parts.scheme != "https" and not emulator:
            checks.append(
                Check(
                    "redirect URI",
                    uri,
                    False,
                    "Meta accepts only https redirect URIs",
                    "register an https URI; for the CLI https://localhost:PORT/callback works "
                    "(igtoken login serves it with a certificate made on the fly)",
                )
            )
    return checks


def _scope_checks(app: AppRecord) -> list[Check]:
    from igtoken.core.exceptions import ScopeError
    from igtoken.core.models import FlowKind
    from igtoken.instagram.scopes import DEFAULT_SCOPES, REFUSED_SCOPES, check_scope

    bad: list[Check] = []
    if app.flow_kind is FlowKind.FACEBOOK_LOGIN:
        return _facebook_scope_checks(app)
    scopes = app.default_scopes or DEFAULT_SCOPES
    for scope in scopes:
        try:
            check_scope(scope)
        except ScopeError as exc:
            refused = REFUSED_SCOPES.get(scope.lower())
            fix = exc.fix
            if refused is not None and "Basic Display" in refused.reason:
                fix = f"{fix}. {_BASIC_DISPLAY_MIGRATION}"
            bad.append(Check("scope", scope, False, exc.message, fix))
    return bad or [Check("scopes", app.name, True, ", ".join(scopes))]


def _facebook_scope_checks(app: AppRecord) -> list[Check]:
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


def static_app_checks(app: AppRecord, *, emulator: bool) -> list[Check]:
    """The checks of an app that need no answer from Meta: redirect URI shapes and scope names."""
    return _static_redirect_checks(app, emulator=emulator) + _scope_checks(app)


def app_checks(app: AppRecord, http: httpx.Client, endpoints: Endpoints, *, emulator: bool) -> list[Check]:
    """Checks of one registered app: redirect URIs, scope names, app id and secret."""
    from igtoken.core.models import FlowKind

    checks = static_app_checks(app, emulator=emulator)
    if app.flow_kind is FlowKind.FACEBOOK_LOGIN:
        return checks + _facebook_app_checks(app, http, endpoints)
    if not app.redirect_uris:
        return checks
    answer = _authorize(http, endpoints, app.instagram_app_id, app.redirect_uris[0])
    text = _error_text(answer) if answer.status_code >= 400 else ""
    if "Invalid platform app" in text:
        checks.append(
            Check(
                "app id",
                app.instagram_app_id,
                False,
                f'Meta does not know {app.instagram_app_id} as an Instagram app id ("Invalid platform app")',
                _WHERE_IG_ID,
            )
        )
        return checks
    checks.append(Check("app id", app.instagram_app_id, True, "Meta knows it as an Instagram app id"))
    for uri in app.redirect_uris:
        answer = _authorize(http, endpoints, app.instagram_app_id, uri)
        text = _error_text(answer) if answer.status_code >= 400 else ""
        if "redirect_uri" not in text:
            checks.append(Check("redirect URI", uri, True, "registered with Meta"))
            continue
        accepted = [
            v for v in _variants(uri) if _authorize(http, endpoints, app.instagram_app_id, v).is_success
        ]
        fix = (
            f"Meta has {accepted[0]!r} registered: URIs must match byte for byte (trailing slash, www, "
            "scheme); register the same string in both places"
            if accepted
            else "add this exact URI under Instagram > API setup with Instagram login > "
            "Business login settings"
        )
        checks.append(
            Check("redirect URI", uri, False, 'Meta does not accept it ("Invalid redirect_uri")', fix)
        )
    exchange = http.post(
        endpoints.code_exchange,
        data={
            "client_id": app.instagram_app_id,
            "client_secret": app.app_secret.reveal(),
            "grant_type": "authorization_code",
            "redirect_uri": app.redirect_uris[0],
            "code": "igtoken-doctor-not-a-code",
        },
    )
    text = _error_text(exchange)
    if "verification code" in text or "client secret" in text.lower():
        checks.append(Check("app secret", app.name, False, "Meta rejects the app secret", _FIX_REJECTED_KEY))
    else:
        checks.append(Check("app secret", app.name, True, "Meta accepts it"))
    return checks


def _facebook_app_checks(app: AppRecord, http: httpx.Client, endpoints: Endpoints) -> list[Check]:
    client_id = app.meta_app_id or app.instagram_app_id
    secret = app.meta_app_secret or app.app_secret
    answer = http.get(
        endpoints.facebook_graph("oauth/access_token"),
        params={"client_id": client_id, "client_secret": secret.reveal(), "grant_type": "client_credentials"},
    )
    if answer.is_success:
        return [Check("app id and secret", client_id, True, "Meta issues an app token")]
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


def account_checks(
    vault: Vault,
    app: AppRecord,
    account: AccountRecord,
    http: httpx.Client,
    endpoints: Endpoints,
    *,
    now: datetime,
    relogin: str,
    check_page: PageCheck,
) -> list[Check]:
    """Checks of one connected account: token, type, permissions, expiry, usage, Page link.

    ``check_page`` checks a Facebook Login account's page token now, with the refresh use case.
    """
    from igtoken.core.models import AccountType, FlowKind
    from igtoken.core.usage import parse_usage
    from igtoken.instagram.scopes import DEFAULT_SCOPES

    who = f"@{account.username}" if account.username else account.id
    checks: list[Check] = []
    if account.status.value != "active":
        reason = f" ({account.status_reason})" if account.status_reason else ""
        return [
            Check("token", who, False, f"the account is {account.status.value}{reason}", f"run `{relogin}`")
        ]
    if app.flow_kind is FlowKind.FACEBOOK_LOGIN:
        return _facebook_account_checks(
            vault, app, account, http, endpoints, now=now, relogin=relogin, check_page=check_page
        )
    stored = vault.current_token(account.id)
    token = stored.token
    if token.is_expired(now):
        return [Check("token", who, False, f"expired on {token.expires_at:%Y-%m-%d}", f"run `{relogin}`")]
    answer = http.get(
        endpoints.instagram_graph("me"),
        params={"fields": "user_id,username,account_type"},
        headers={"Authorization": f"Bearer {token.value.reveal()}"},
    )
    if not answer.is_success:
        checks.append(_refused_token_check(answer, who, relogin))
        return checks
    checks.append(Check("token", who, True, "Meta accepts it"))
    body = answer.json()
    kind = body.get("account_type")
    if kind == AccountType.PERSONAL.value:
        checks.append(
            Check(
                "account type",
                who,
                False,
                "a personal account: the Instagram API serves only Business and Creator accounts",
                "in the Instagram app: Settings > Account type and tools > "
                f"Switch to professional account (Business or Creator), then `{relogin}`",
            )
        )
    else:
        checks.append(Check("account type", who, True, str(kind)))
    checks.append(
        _permissions_check(
            set(app.default_scopes or DEFAULT_SCOPES), set(account.scopes or token.scopes), who, relogin
        )
    )
    last = stored.last_refreshed_at
    last_text = f"last refresh {last:%Y-%m-%d}" if last else "never refreshed"
    if token.expires_at is not None:
        left = token.expires_at - now
        days = left / timedelta(days=1)
        if days < EXPIRY_WARN_DAYS:
            checks.append(
                Check(
                    "expiry",
                    who,
                    False,
                    f"expires in {days:.1f} days ({last_text}"
                    + (f"; last error: {stored.last_error}" if stored.last_error else "")
                    + ")",
                    f"`igtoken token {account.username or account.id}` refreshes it now; "
                    "keep `igtoken worker` running",
                )
            )
        else:
            checks.append(Check("expiry", who, True, f"{days:.0f} days left, {last_text}"))
    usage = parse_usage(answer.headers)
    top = usage.max_percent if usage is not None else None
    if top is not None and top >= USAGE_WARN:
        checks.append(
            Check(
                "Meta usage",
                who,
                False,
                f"at {top:.0f}% of Meta's rate limit",
                "spread calls out or cache results; Meta throttles at 100%",
            )
        )
    else:
        checks.append(Check("Meta usage", who, True, "no figures sent" if top is None else f"{top:.0f}%"))
    return checks


def _refused_token_check(answer: httpx.Response, who: str, relogin: str) -> Check:
    """What a refused ``/me`` means: a throttle (wait) or a transient fault is not a dead token."""
    from igtoken.core.exceptions import ThrottledError
    from igtoken.instagram.parse import error_from_response

    error = error_from_response(answer)
    if isinstance(error, ThrottledError):
        wait = f"; Meta says to wait {error.retry_after:.0f} s" if error.retry_after else ""
        return Check(
            "Meta usage",
            who,
            False,
            f"Meta is throttling calls for this account ({error.message}){wait}",
            "wait and run doctor again; spread calls out or cache results (the token itself was not judged)",
        )
    if error is not None and error.retryable:
        return Check(
            "token",
            who,
            False,
            f"Meta could not answer now ({error.message})",
            "run doctor again in a minute; nothing says the token is bad",
        )
    return Check("token", who, False, f"Meta refuses the token: {_error_text(answer)}", f"run `{relogin}`")


def unreachable(subject: str, exc: Exception) -> Check:
    """The check that stands for the ones Meta could not be reached for."""
    return Check(
        "Meta reachable",
        subject,
        False,
        f"cannot reach Meta ({type(exc).__name__}: {exc})",
        "check the network, a proxy, or IGTOKEN_META_BASE_URL; the checks that need no Meta still ran",
    )


def _facebook_client(app: AppRecord, http: httpx.Client, endpoints: Endpoints) -> Client:
    """A library client acting as the app's Meta app (the redirect URI is not used by these checks)."""
    from igtoken.client.clients import Client
    from igtoken.core.config import AppCredentials, ClientConfig

    credentials = AppCredentials(
        app.meta_app_id or app.instagram_app_id,
        app.meta_app_secret or app.app_secret,
        app.redirect_uris[0] if app.redirect_uris else "https://localhost/igtoken-doctor",
    )
    return Client(ClientConfig(credentials, endpoints=endpoints, retry_attempts=1), http=http)


def _facebook_account_checks(
    vault: Vault,
    app: AppRecord,
    account: AccountRecord,
    http: httpx.Client,
    endpoints: Endpoints,
    *,
    now: datetime,
    relogin: str,
    check_page: PageCheck,
) -> list[Check]:
    """A Facebook Login account: page token (debug_token), Page link, permissions, user token and
    data-access expiry. A page token Meta calls dead (190: password changed, role lost, app
    removed) marks the account for re-authorization, as the refresh worker would."""
    from igtoken.core.exceptions import IGTokenError, NeedsReauthorizationError
    from igtoken.core.models import TokenKind
    from igtoken.refresh.outcomes import Outcome

    who = f"@{account.username}" if account.username else account.id
    page = f"Page {account.page_name or account.page_id!r}"
    client = _facebook_client(app, http, endpoints)
    # The one page-token check, as the worker and the service make it: under the token's lease,
    # a dead token marks the account (with its re-authorization link and webhook).
    result = check_page(account)
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
    stored = vault.current_token(account.id, TokenKind.FB_PAGE)
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
        node = client.page_instagram_account(stored.token.value, account.page_id or "", now=now)
    except NeedsReauthorizationError as exc:
        checks.append(Check("Page link", who, False, exc.message, f"run `{relogin}`"))
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
    checks.append(_facebook_expiry(vault, account, now=now, relogin=relogin, who=who))
    return checks


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


def _facebook_expiry(vault: Vault, account: AccountRecord, *, now: datetime, relogin: str, who: str) -> Check:
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
